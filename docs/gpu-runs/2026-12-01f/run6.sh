#!/bin/bash
# H200: linear_int4_wgmma's wide tiles in the engine (gate_up at 129–256 tokens as one tile of two warpgroups × 192
# or 256). check-gpu (ops incl. the wide tile at 150 and 256 tokens, quantized goldens, stories260K), W2 and W3 of
# Llama-3-8B GPTQ-int4 and Qwen2.5-14B GPTQ-int4 + fp8 KV, and the decode profile at 256 sequences (Qwen).
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; L=$OUT; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
t check-gpu
timeout 200 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens \
  > $L/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|greedy .*pass|all passed|failure" $L/check-gpu.log | head -8; grep -E "N16400" $L/check-gpu.log | cut -c1-150
w() {  # name, flags
  local n=$1; shift
  timeout 100 /tmp/sv bench throughput "$@" --num-prompts 256 --input-len 512 --output-len 128 $K 2>$L/$n-w2.log | grep -E "^\{" > $L/$n-w2.json
  python3 -c "import json; d=json.load(open('$L/$n-w2.json')); print('$n W2', round(d['output_tokens_per_s'],1), json.dumps(d.get('gpu_ms_by_step')))" || tail -3 $L/$n-w2.log
  timeout 100 /tmp/sv bench throughput "$@" --lengths-file .gpu/w3_lengths.json --num-prompts 500 $K 2>$L/$n-w3.log | grep -E "^\{" > $L/$n-w3.json
  python3 -c "import json; d=json.load(open('$L/$n-w3.json')); print('$n W3', round(d['requests_per_s'],2), 'req/s', json.dumps(d.get('gpu_ms_by_step')))" || tail -3 $L/$n-w3.log
}
t llama8b-int4; w llama8b-int4 --model benchmarks/configs/llama3-8b-gptq-int4 --load-format dummy
t qwen14b-int4-fp8; w qwen14b-int4-fp8 --model benchmarks/configs/qwen2.5-14b-gptq-int4 --load-format dummy --kv-cache-dtype fp8
t profile
timeout 120 /tmp/sv check-gpu $K --skip-ops --model benchmarks/configs/qwen2.5-14b-gptq-int4 --load-format dummy --kv-cache-dtype fp8 \
  --profile-decode 256 > $L/profile.log 2>&1 || tail -5 $L/profile.log
grep -A14 "^decode" $L/profile.log | head -16
t done
