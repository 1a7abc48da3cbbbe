#!/bin/bash
# H200, session 20 run4: the binary to land —
#  - the q/k/v split folded into the 4- and 8-bit decode linears only (bf16 weights decline it after run3);
#  - split_qkv_vec_fp8_* splitting a decode step straight into an fp8 cache where the fold does not apply (before: split
#    into scratch rows, then reshape_and_cache_fp8 with one CTA a token);
#  - each 4-bit weight's scale and −(128 + zero) as one bf16 pair (one 4-byte load for both) in every 4-bit kernel.
# check-gpu; the 4-bit kernels alone before and after the pair layout (benchmarks/kernels harnesses built from HEAD's
# kernels and from this tree's, alternated); W1 with the fold and without it (SWIFT_VLLM_FUSED_SPLIT=0); W2.
source docs/gpu-runs/lib.sh
for b in int4_decode_bench_old int4_decode_bench_new int4_gemm_bench_old int4_gemm_bench_new; do
  python3 -c "import lzma, shutil; shutil.copyfileobj(lzma.open('.gpu/$b.xz'), open('/tmp/$b', 'wb'))"; chmod +x /tmp/$b
done
t check-gpu
timeout 240 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens > $L/check-gpu.log 2>$L/check-gpu.err; echo "check-gpu exit $?"
grep -E "FAIL|declined|greedy|all passed|failure|Error" $L/check-gpu.log | head -20
grep "splitQKV" $L/check-gpu.log | grep -v "^splitQKV " | awk '{print $(NF-2)}' | sort -g | tail -1
t "decode kernel alone: HEAD's scales and zeros (old) against the pairs (new), CUDABackend.int4DecodeWarps' rule"
for round in 1 2; do
  /tmp/int4_decode_bench_old 300 -1 0 1 | tee -a $L/decode-old.txt
  /tmp/int4_decode_bench_new 300 -1 0 1 | tee -a $L/decode-new.txt
done
t "wgmma GEMM alone at 256 tokens (old, new)"
for shape in "256 6144 4096" "256 4096 4096" "256 28672 4096" "256 4096 14336" "128 28672 4096"; do
  /tmp/int4_gemm_bench_old $shape 200 wgmma | grep "int4-gemm wgmma" | sed "s/^/old $shape: /"
  /tmp/int4_gemm_bench_new $shape 200 wgmma | grep "int4-gemm wgmma" | sed "s/^/new $shape: /"
done
t W1
w1 int4 --model $I
SWIFT_VLLM_FUSED_SPLIT=0 w1 int4-unfused --model $I
w1 int4-again --model $I
SWIFT_VLLM_FUSED_SPLIT=0 w1 int4-unfused-again --model $I
w1 q14 --model $Q --kv-cache-dtype fp8
SWIFT_VLLM_FUSED_SPLIT=0 w1 q14-unfused --model $Q --kv-cache-dtype fp8
w1 bf16 --model $B
w1 bf16-fp8kv --model $B --kv-cache-dtype fp8
w1 fp8 --model $B --quantization fp8
t W2
w2 int4 --model $I
w2 q14 --model $Q --kv-cache-dtype fp8
finish
