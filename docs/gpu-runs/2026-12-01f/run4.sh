#!/bin/bash
# H200, after run3, linear_int4_wgmma with two chunks of wgmmas in flight (run3's p* variants): check-gpu, W1/W2 of Llama-3-8B GPTQ-int4 and Qwen2.5-14B GPTQ-int4 + fp8 KV with linear_int4_wgmma on the
# tensor memory accelerator, the offline deployment step (100 x 48->128), the decode profile at 100 sequences, and
# the deployment over HTTP (100 concurrent chats, guided_json, hermes tool calls).
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; L=$OUT; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
t check-gpu
timeout 200 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens \
  > $L/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|greedy|all passed|failure" $L/check-gpu.log | head -8
run() {  # name, flags
  local n=$1; shift
  timeout 100 /tmp/sv bench latency "$@" --input-len 512 --output-len 128 --num-iters 5 $K 2>$L/$n-w1.log | grep -E "^\{" > $L/$n-w1.json
  python3 -c "import json; d=json.load(open('$L/$n-w1.json')); print('$n W1 TTFT', round(d['ttft_ms_median'],2), 'TPOT', round(d['tpot_ms_median'],3))" || tail -3 $L/$n-w1.log
  timeout 100 /tmp/sv bench throughput "$@" --num-prompts 256 --input-len 512 --output-len 128 $K 2>$L/$n-w2.log | grep -E "^\{" > $L/$n-w2.json
  python3 -c "import json; d=json.load(open('$L/$n-w2.json')); print('$n W2', round(d['output_tokens_per_s'],1), json.dumps(d.get('gpu_ms_by_step')))" || tail -3 $L/$n-w2.log
}
t "qwen14b-int4-fp8"; run qwen14b-int4-fp8 --model benchmarks/configs/qwen2.5-14b-gptq-int4 --load-format dummy --kv-cache-dtype fp8
t "offline 100 x 48->128"
timeout 100 /tmp/sv bench throughput --model benchmarks/configs/qwen2.5-14b-gptq-int4 --load-format dummy --kv-cache-dtype fp8 \
  --num-prompts 100 --input-len 48 --output-len 128 $K 2>/dev/null | grep -E "^\{" > $L/qwen14b-100x48.json
python3 -c "import json; d=json.load(open('$L/qwen14b-100x48.json')); print('100x48->128', round(d['output_tokens_per_s'],1), json.dumps(d.get('gpu_ms_by_step')))"
t "llama8b-int4"; run llama8b-int4 --model benchmarks/configs/llama3-8b-gptq-int4 --load-format dummy
mkdir -p /tmp/q14 && cp benchmarks/configs/qwen2.5-14b-gptq-int4/config.json .gpu/qwen2.5/tokenizer* /tmp/q14/
t "swift-vllm serve"
/tmp/sv serve /tmp/q14 --load-format dummy --kv-cache-dtype fp8 --quantization gptq_marlin --port 8000 \
  --served-model-name qwen --enable-auto-tool-choice --tool-call-parser hermes $K --disable-log-requests > $L/ours-serve.log 2>&1 &
P=$!
for i in $(seq 240); do curl -s localhost:8000/health >/dev/null && break; sleep 0.5; done
t "ready"
timeout 150 python3 scripts/deployment_check.py --base-url http://127.0.0.1:8000 --model qwen --field guided_json > $L/ours-check.json
echo "rc=$?"; python3 -c "
import json; d=json.load(open('$L/ours-check.json')); print(json.dumps({k: v for k, v in d.items() if k != 'tool_calls'})[:700])"
kill $P; wait $P 2>/dev/null
t done
