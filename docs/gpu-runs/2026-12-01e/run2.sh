#!/bin/bash
# H200: FP8 weights (W8A8) — linear_fp8_small for decode steps of ≤ 8 tokens, per-token activation quantization +
# cuBLASLt's FP8 GEMM (outer-vector scales) past that. check-gpu (every op against the CPU, the fp8 linears included;
# the quantized tiny checkpoints loaded from their files against transformers; stories260K greedy GPU = CPU), then
# W1/W2 of the Llama-3-8B shape with --quantization fp8, then bench-linear (each path by step size).
# run1 failed at cuBLASLt's heuristic (CUBLAS_STATUS_INVALID_VALUE): the scale pointers are now set before it is
# asked; fp8_blaslt_probe says which configurations cuBLASLt answers at all.
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; L=$OUT; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
t probe
/usr/local/cuda/bin/nvcc -O2 -o /tmp/probe benchmarks/kernels/fp8_blaslt_probe.cu -lcublasLt && /tmp/probe
t check-gpu
timeout 240 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens \
  > $L/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|greedy|all passed|kernels ready|failure" $L/check-gpu.log | head -12
grep -E "linear fp8|quantized golden" $L/check-gpu.log | cut -c1-150 | head -60
run() {  # name, flags
  local n=$1; shift
  timeout 100 /tmp/sv bench latency "$@" --input-len 512 --output-len 128 --num-iters 5 $K 2>$L/$n-w1.log | grep -E "^\{" > $L/$n-w1.json
  python3 -c "import json; d=json.load(open('$L/$n-w1.json')); print('$n W1 TTFT', round(d['ttft_ms_median'],2), 'TPOT', round(d['tpot_ms_median'],3))" || tail -3 $L/$n-w1.log
  timeout 100 /tmp/sv bench throughput "$@" --num-prompts 256 --input-len 512 --output-len 128 $K 2>$L/$n-w2.log | grep -E "^\{" > $L/$n-w2.json
  python3 -c "import json; d=json.load(open('$L/$n-w2.json')); print('$n W2', round(d['output_tokens_per_s'],1), json.dumps(d.get('gpu_ms_by_step')))" || tail -3 $L/$n-w2.log
}
t "llama8b-fp8"; run llama8b-fp8 --model benchmarks/configs/llama3-8b --load-format dummy --quantization fp8
grep -E "weights|KV cache" $L/llama8b-fp8-w2.log | head -3
t bench-linear
timeout 170 /tmp/sv check-gpu $K --skip-ops --bench-linear > $L/bench-linear.log 2>&1; echo "bench-linear exit $?"
grep -E "T (1|4|8|16|64|128|256|512) " $L/bench-linear.log | grep -v "k / v\|lm_head\|qwen" | sed -E 's/bench-linear //; s/ [0-9]+ TFLOP\/s//g; s/ µs//g' | cut -c1-250
t done
