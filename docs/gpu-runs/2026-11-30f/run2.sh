#!/bin/bash
# H200: linear_int4_gemm with 64-token warps (r4t1n8, r8t1n8, r4t2n8) and split K for grids that do not fill the GPU,
# beside run1's 32-token-warp tiles and dequantize + cuBLASLt. Every op against the CPU (each tile forced), bench-linear,
# then W2/W3 of the Llama-3-8B GPTQ-int4 shape with the GEMM up to 0 / 64 / 128 / 256 tokens, and the Qwen2.5-14B
# GPTQ-int4 + fp8-cache shape up to 0 / 128.
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; L=$OUT; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
timeout 200 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K > $L/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|greedy|all passed" $L/check-gpu.log | head -8; grep -c "linear int4" $L/check-gpu.log
t bench-linear
timeout 200 /tmp/sv check-gpu $K --bench-linear > $L/bench-linear.log 2>&1; echo "bench-linear exit $?"
grep -E "T (24|32|64|128|256|512) " $L/bench-linear.log | sed -E 's/bench-linear //; s/linear.cu n\/a, //; s/ µs [0-9]+ (GB|TFLOP)\/s//g; s/ packed//' | cut -c1-300
run() {  # name, env, flags
  local n=$1 e=$2; shift 2
  env $e timeout 100 /tmp/sv bench throughput "$@" --num-prompts 256 --input-len 512 --output-len 128 $K 2>$L/$n-w2.log | grep -E "^\{" > $L/$n-w2.json
  python3 -c "import json; d=json.load(open('$L/$n-w2.json')); print('$n W2', round(d['output_tokens_per_s'],1))" || tail -3 $L/$n-w2.log
  env $e timeout 100 /tmp/sv bench throughput "$@" --lengths-file .gpu/w3_lengths.json --num-prompts 500 $K 2>$L/$n-w3.log | grep -E "^\{" > $L/$n-w3.json
  python3 -c "import json; d=json.load(open('$L/$n-w3.json')); print('$n W3', round(d['requests_per_s'],2))" || tail -3 $L/$n-w3.log
}
for gemm in 0 64 128 256; do
  t "SWIFT_VLLM_INT4_GEMM_MAX_TOKENS=$gemm"
  run llama8b-int4-gemm$gemm SWIFT_VLLM_INT4_GEMM_MAX_TOKENS=$gemm --model benchmarks/configs/llama3-8b-gptq-int4 --load-format dummy
done
for gemm in 0 128; do
  run qwen14b-int4-fp8-gemm$gemm SWIFT_VLLM_INT4_GEMM_MAX_TOKENS=$gemm --model benchmarks/configs/qwen2.5-14b-gptq-int4 --load-format dummy --kv-cache-dtype fp8
done
t done
tar -C $OUT -czf /tmp/run2.tgz . && rm -f $OUT/*.json $OUT/*-w?.log && mv /tmp/run2.tgz $OUT/
