#!/bin/bash
# H200, this session's release binary: the deployment shape at ~100 sequences after the token-tile change, against
# session 10's figures on the same kind (docs/gpu-runs/2026-12-01b run4: offline 4,948 tok/s, GEMM 16.4 of 25.1 GPU
# ms a step; run3c: HTTP free 4,914 / Poem 5,203 tok/s): the offline engine on 100 x (48 -> 128), the decode
# profile at batch 100, then serve + scripts/deployment_check.py (100 concurrent chats, guided_json Poem, tool calls).
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; Q="--model benchmarks/configs/qwen2.5-14b-gptq-int4 --load-format dummy"
S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
t "bench throughput 100 x 48->128"
timeout 120 /tmp/sv bench throughput $Q --kv-cache-dtype fp8 --quantization gptq_marlin --num-prompts 100 \
  --input-len 48 --output-len 128 $K 2>/dev/null | grep -E "^\{" | tee -a $OUT/throughput.jsonl | python3 -c "
import json,sys; d=json.loads(sys.stdin.read()); print('output tok/s', round(d['output_tokens_per_s']), 'steps', d['steps'], json.dumps(d['gpu_ms_by_step']))"
t "profile"
timeout 200 /tmp/sv check-gpu $K --skip-ops $Q --profile-decode 100 > $OUT/profile.log 2>&1 || tail -5 $OUT/profile.log
grep -A12 "^decode" $OUT/profile.log | head -14
mkdir -p /tmp/q14 && cp benchmarks/configs/qwen2.5-14b-gptq-int4/config.json .gpu/qwen2.5/tokenizer* /tmp/q14/
t "serve"
/tmp/sv serve /tmp/q14 --load-format dummy --kv-cache-dtype fp8 --quantization gptq_marlin --port 8000 \
  --served-model-name qwen --enable-auto-tool-choice --tool-call-parser hermes $K --disable-log-requests > $OUT/serve.log 2>&1 &
SERVE=$!
for i in $(seq 1 240); do curl -s localhost:8000/health >/dev/null && break; sleep 0.5; done
t "ready"
timeout 150 python3 scripts/deployment_check.py --base-url http://127.0.0.1:8000 --model qwen --field guided_json > $OUT/check-guided_json.json
echo "rc=$?"; python3 -c "
import json; d=json.load(open('$OUT/check-guided_json.json')); print(json.dumps({k: v for k, v in d.items() if k != 'tool_calls'})[:600])"
kill $SERVE; wait $SERVE
t done
