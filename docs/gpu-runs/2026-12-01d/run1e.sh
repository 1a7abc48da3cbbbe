#!/bin/bash
# H200, lease 2026-12-01d, 5/5: vLLM 0.26.0 serving the deployment shape (Qwen2.5-14B GPTQ-int4, now quantized, fp8
# KV, hermes), driven by scripts/deployment_check.py as run1c drove swift-vllm (structured_outputs: vLLM ignores
# guided_json).
export PYTHONUNBUFFERED=1 PYTHONPATH=/root/site VLLM_USE_FLASHINFER_SAMPLER=0
L=$OUT; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
mkdir -p /tmp/q14 && cp benchmarks/configs/qwen2.5-14b-gptq-int4/config.json .gpu/qwen2.5/tokenizer* /tmp/q14/
t "vLLM serve"
timeout 330 python3 -m vllm.entrypoints.cli.main serve /tmp/q14 --load-format dummy --dtype bfloat16 --kv-cache-dtype fp8 \
  --port 8001 --served-model-name qwen --enable-auto-tool-choice --tool-call-parser hermes > $L/vllm-serve.log 2>&1 &
V=$!
for i in $(seq 2400); do curl -sf localhost:8001/health >/dev/null && break; sleep 0.1; done
t "vLLM ready"; grep -ohE "Model loading took [0-9.]+ GiB|Using [A-Za-z0-9_]+ for [A-Za-z]+|quantization=[a-z_]+" $L/vllm-serve.log | sort -u
timeout 150 python3 scripts/deployment_check.py --base-url http://127.0.0.1:8001 --model qwen --field structured_outputs > $L/vllm-check.json
echo "rc=$?"; python3 -c "
import json; d=json.load(open('$L/vllm-check.json')); print(json.dumps({k: v for k, v in d.items() if k != 'tool_calls'})[:700])"
kill $V; wait $V 2>/dev/null
t done
