#!/bin/bash
# H200: linear_fp8_small for up to 32 tokens (1, 2 or 4 groups of 8: run4's bench-linear had cuBLASLt's FP8 GEMM at
# 16–64 tokens no faster than bf16 on qkv, o and down). check-gpu (both fp8 paths forced at 5–40 tokens, the quantized
# goldens, stories260K), bench-linear's fp8 paths at 8–64 tokens, W1/W2 of Llama-3-8B with --quantization fp8.
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; L=$OUT; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
t check-gpu
timeout 240 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens \
  > $L/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|greedy|all passed|failure|quantized golden .*:" $L/check-gpu.log | head -12
grep -E "linear fp8" $L/check-gpu.log | grep -E "T(9|16|24|40) " | cut -c1-150
t bench-linear
timeout 170 /tmp/sv check-gpu $K --skip-ops --bench-linear > $L/bench-linear.log 2>&1; echo "bench-linear exit $?"
grep -E "T (8|16|24|32|48|64) " $L/bench-linear.log | grep "fp8" | grep -v "k / v" | sed -E 's/bench-linear //; s/int4 .*; fp8 small/fp8 small/; s/int4 .*; fp8 cuBLASLt/fp8 cuBLASLt/; s/; fp8 cuBLASLt exact-accum.*//; s/ µs//g; s/ [0-9]+ TFLOP\/s//g' | cut -c1-200
run() {  # name, flags
  local n=$1; shift
  timeout 100 /tmp/sv bench latency "$@" --input-len 512 --output-len 128 --num-iters 5 $K 2>$L/$n-w1.log | grep -E "^\{" > $L/$n-w1.json
  python3 -c "import json; d=json.load(open('$L/$n-w1.json')); print('$n W1 TTFT', round(d['ttft_ms_median'],2), 'TPOT', round(d['tpot_ms_median'],3))" || tail -3 $L/$n-w1.log
  timeout 100 /tmp/sv bench throughput "$@" --num-prompts 256 --input-len 512 --output-len 128 $K 2>$L/$n-w2.log | grep -E "^\{" > $L/$n-w2.json
  python3 -c "import json; d=json.load(open('$L/$n-w2.json')); print('$n W2', round(d['output_tokens_per_s'],1))" || tail -3 $L/$n-w2.log
}
t "llama8b-fp8"; run llama8b-fp8 --model benchmarks/configs/llama3-8b --load-format dummy --quantization fp8
t done
