#!/bin/bash
# H200, lease 2026-12-01e/4: linear_fp8_small at 16 rows a CTA (run3). check-gpu (every op against the CPU, the fp8
# linears among them; the quantized tiny checkpoints from their files against transformers, beside the same
# checkpoints dequantized to bf16 at load; stories260K greedy GPU = CPU), then W1/W2 of the Llama-3-8B shape with
# --quantization fp8, then bench-linear (the fp8 paths by step size).
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; L=$OUT; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
t check-gpu
timeout 240 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens \
  > $L/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|greedy|all passed|kernels ready|failure" $L/check-gpu.log | head -12
grep -E "quantized golden" $L/check-gpu.log | cut -c1-150
run() {  # name, flags
  local n=$1; shift
  timeout 100 /tmp/sv bench latency "$@" --input-len 512 --output-len 128 --num-iters 5 $K 2>$L/$n-w1.log | grep -E "^\{" > $L/$n-w1.json
  python3 -c "import json; d=json.load(open('$L/$n-w1.json')); print('$n W1 TTFT', round(d['ttft_ms_median'],2), 'TPOT', round(d['tpot_ms_median'],3))" || tail -3 $L/$n-w1.log
  timeout 100 /tmp/sv bench throughput "$@" --num-prompts 256 --input-len 512 --output-len 128 $K 2>$L/$n-w2.log | grep -E "^\{" > $L/$n-w2.json
  python3 -c "import json; d=json.load(open('$L/$n-w2.json')); print('$n W2', round(d['output_tokens_per_s'],1), json.dumps(d.get('gpu_ms_by_step')))" || tail -3 $L/$n-w2.log
}
t "llama8b-fp8"; run llama8b-fp8 --model benchmarks/configs/llama3-8b --load-format dummy --quantization fp8
grep -E "KV cache" $L/llama8b-fp8-w2.log | head -2
t bench-linear
timeout 170 /tmp/sv check-gpu $K --skip-ops --bench-linear > $L/bench-linear.log 2>&1; echo "bench-linear exit $?"
grep -E "T (1|8|16|64|256) " $L/bench-linear.log | grep "fp8" | grep -v "k / v\|qwen" | sed -E 's/bench-linear //; s/int4 .*; fp8 small/fp8 small/; s/int4 .*; fp8 cuBLASLt/fp8 cuBLASLt/; s/ µs//g' | cut -c1-230
t done
