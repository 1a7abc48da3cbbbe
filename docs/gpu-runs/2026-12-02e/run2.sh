#!/bin/bash
# H200, session 21 run2:
#  - linear_fp8_small with the folds, its step inputs now read after the first weight loads (run1's read them before,
#    and W1 came out slower folded, 3.157 / 3.168 against 3.100 ms): the kernel alone (benchmarks/kernels/fp8_gemv_bench.cu
#    built from HEAD's kernels and from this tree's: store, and each linear with its fold), W1 folded / not alternated;
#  - the norms and SiLU·mul quantizing their output for the FP8 linear after them (SWIFT_VLLM_FUSED_QUANT=0: not);
#  - cuBLASLt's timed choices kept in the kernel cache directory: W2 once to time them (cold), then warm, against the
#    heuristic's first (SWIFT_VLLM_BLASLT_TUNE=1); W3 GPTQ-int4 the same;
#  - check-gpu (the fp8 fold rows; the feeding rows bit for bit against the plain ops).
# (The folds in linear_fp8_small and the timing of cuBLASLt's candidates were removed after this run: docs/benchmarks.md,
# session 21. Their binary is not the landed one.)
source docs/gpu-runs/lib.sh
for b in fp8bench_old fp8bench_new; do
  python3 -c "import lzma, shutil; shutil.copyfileobj(lzma.open('.gpu/$b.xz'), open('/tmp/$b', 'wb'))"; chmod +x /tmp/$b
done
t check-gpu
timeout 200 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens > $L/check-gpu.log 2>$L/check-gpu.err; echo "check-gpu exit $?"
grep -E "FAIL|declined|greedy|all passed|failure|Error" $L/check-gpu.log | head -20
grep -E "feeding" $L/check-gpu.log | awk '{print $NF}' | sort | uniq -c
t "fp8 decode kernel alone: HEAD's (old), this tree's (new) with the folds"
/tmp/fp8bench_old 300 | tee $L/fp8bench-old.txt
/tmp/fp8bench_new 300 | tee $L/fp8bench-new.txt
t "W1 fp8, folds on / off"
w1 fp8 --model $B --quantization fp8
SWIFT_VLLM_FUSED_LINEAR=0 w1 fp8-unfused --model $B --quantization fp8
w1 fp8-again --model $B --quantization fp8
SWIFT_VLLM_FUSED_LINEAR=0 w1 fp8-unfused-again --model $B --quantization fp8
t "W2 fp8: timed cold, warm; heuristic's first; no fused quantization"
w2 fp8-cold --model $B --quantization fp8
w2 fp8-warm --model $B --quantization fp8
SWIFT_VLLM_BLASLT_TUNE=1 w2 fp8-first --model $B --quantization fp8
SWIFT_VLLM_FUSED_QUANT=0 w2 fp8-noquant --model $B --quantization fp8
w2 fp8-warm-again --model $B --quantization fp8
t "W2 bf16 and GPTQ-int4: timed cold, warm; heuristic's first"
for m in "bf16 --model $B" "int4 --model $I"; do
  set -- $m; n=$1; shift
  w2 $n-cold "$@"
  w2 $n-warm "$@"
  SWIFT_VLLM_BLASLT_TUNE=1 w2 $n-first "$@"
done
t "W3 GPTQ-int4: timed (cold then warm), heuristic's first"
w3 int4-cold --model $I
w3 int4-warm --model $I
SWIFT_VLLM_BLASLT_TUNE=1 w3 int4-first --model $I
ls -la /tmp/kc/cublaslt-* ; wc -l /tmp/kc/cublaslt-*
cp /tmp/kc/cublaslt-* $L/
t "fp8 W2 op by op (--profile)"
timeout 100 /tmp/sv bench throughput --model $B --quantization fp8 --load-format dummy --num-prompts 256 --input-len 512 --output-len 128 $K --profile > $L/fp8-profile.json 2>$L/fp8-profile.log
grep -A14 "^GPU" $L/fp8-profile.log
finish
