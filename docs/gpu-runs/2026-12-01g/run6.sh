#!/bin/bash
# H200: 8-bit int weights (GPTQ 8-bit, compressed-tensors W8A16, INT8 W8A8) kept as two 4-bit planes on the GPU
# instead of bf16. check-gpu (op rows for 8 bits on every path; the 8-bit golden checkpoints against transformers),
# then W1/W2 of the Llama-3-8B shape as GPTQ 8-bit beside bf16 and GPTQ 4-bit (same binary, --load-format dummy).
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; L=$OUT; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
t check-gpu
timeout 240 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens \
  > $L/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|greedy .*pass|all passed|failure" $L/check-gpu.log | head -8
grep -E "int8|gptq.*8|w8a|int8" $L/check-gpu.log | head -40
run() {  # name, flags
  local n=$1; shift
  timeout 100 /tmp/sv bench latency "$@" --input-len 512 --output-len 128 --num-iters 5 $K 2>$L/$n-w1.log | grep -E "^\{" > $L/$n-w1.json
  python3 -c "import json; d=json.load(open('$L/$n-w1.json')); print('$n W1 TTFT', round(d['ttft_ms_median'],2), 'TPOT', round(d['tpot_ms_median'],3))" || tail -3 $L/$n-w1.log
  grep -E "weights|KV cache" $L/$n-w1.log | head -2
  timeout 100 /tmp/sv bench throughput "$@" --num-prompts 256 --input-len 512 --output-len 128 $K 2>$L/$n-w2.log | grep -E "^\{" > $L/$n-w2.json
  python3 -c "import json; d=json.load(open('$L/$n-w2.json')); print('$n W2', round(d['output_tokens_per_s'],1), json.dumps(d.get('gpu_ms_by_step')))" || tail -3 $L/$n-w2.log
}
t int8; run llama8b-int8 --model benchmarks/configs/llama3-8b-gptq-int8 --load-format dummy
t bf16; run llama8b-bf16 --model benchmarks/configs/llama3-8b --load-format dummy
t int4; run llama8b-int4 --model benchmarks/configs/llama3-8b-gptq-int4 --load-format dummy
t done
