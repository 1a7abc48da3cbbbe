#!/bin/bash
# H200: linear_int4.cu's tiled GEMM (4-bit weights dequantized in registers, 33 to 1024 tokens) beside the old
# path (dequantize into scratch + cuBLASLt, SWIFT_VLLM_INT4_GEMM_MAX_TOKENS=0) in one binary. Every op against the
# CPU (each GEMM tile forced), bench-linear (every path at 1–2048 tokens), then W1/W2/W3 of the Llama-3-8B GPTQ-int4
# shape and the Qwen2.5-14B GPTQ-int4 + fp8-cache shape with the GEMM and without.
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; L=$OUT; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
timeout 200 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K > $L/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|greedy|all passed" $L/check-gpu.log | head -8; grep -c "linear int4" $L/check-gpu.log
t bench-linear
timeout 150 /tmp/sv check-gpu $K --bench-linear > $L/bench-linear.log 2>&1; echo "bench-linear exit $?"
grep -E "T (64|128|256|512|1024|2048) " $L/bench-linear.log | sed 's/bench-linear //' | cut -c1-400
run() {  # name, env, flags
  local n=$1 e=$2; shift 2
  env $e timeout 100 /tmp/sv bench latency "$@" --input-len 512 --output-len 128 --num-iters 5 $K 2>$L/$n-w1.log | grep -E "^\{" > $L/$n-w1.json
  python3 -c "import json; d=json.load(open('$L/$n-w1.json')); print('$n W1 TTFT', round(d['ttft_ms_median'],2), 'TPOT', round(d['tpot_ms_median'],3))" || tail -3 $L/$n-w1.log
  env $e timeout 100 /tmp/sv bench throughput "$@" --num-prompts 256 --input-len 512 --output-len 128 $K 2>$L/$n-w2.log | grep -E "^\{" > $L/$n-w2.json
  python3 -c "import json; d=json.load(open('$L/$n-w2.json')); print('$n W2', round(d['output_tokens_per_s'],1))" || tail -3 $L/$n-w2.log
  env $e timeout 100 /tmp/sv bench throughput "$@" --lengths-file .gpu/w3_lengths.json --num-prompts 500 $K 2>$L/$n-w3.log | grep -E "^\{" > $L/$n-w3.json
  python3 -c "import json; d=json.load(open('$L/$n-w3.json')); print('$n W3', round(d['requests_per_s'],2))" || tail -3 $L/$n-w3.log
}
for gemm in 1024 0; do
  t "SWIFT_VLLM_INT4_GEMM_MAX_TOKENS=$gemm"
  run llama8b-int4-gemm$gemm SWIFT_VLLM_INT4_GEMM_MAX_TOKENS=$gemm --model benchmarks/configs/llama3-8b-gptq-int4 --load-format dummy
  run qwen14b-int4-fp8-gemm$gemm SWIFT_VLLM_INT4_GEMM_MAX_TOKENS=$gemm --model benchmarks/configs/qwen2.5-14b-gptq-int4 --load-format dummy --kv-cache-dtype fp8
done
t done
