#!/bin/bash
# H200, lease 2026-12-01c, 3/3 (after the 4-bit GEMM's token tiles): the seeds' deployment shape on one GPU — Qwen2.5-14B GPTQ-int4 (dummy weights), the Qwen2.5
# tokenizer and chat template, fp8 KV cache, hermes tool calls — swift-vllm and vLLM 0.26.0 in the same lease, each
# driven by scripts/deployment_check.py: 100 concurrent chats free vs constrained by the Poem schema (ours with
# guided_json, the deployment's field; vLLM with structured_outputs, since it ignores guided_json), tool calls.
export PYTHONUNBUFFERED=1 PYTHONPATH=/root/site VLLM_USE_FLASHINFER_SAMPLER=0
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
mkdir -p /tmp/q14 && cp benchmarks/configs/qwen2.5-14b-gptq-int4/config.json .gpu/qwen2.5/tokenizer* /tmp/q14/
t "swift-vllm serve"
/tmp/sv serve /tmp/q14 --load-format dummy --kv-cache-dtype fp8 --quantization gptq_marlin --port 8000 \
  --served-model-name qwen --enable-auto-tool-choice --tool-call-parser hermes --kernel-cache-dir /tmp/kc \
  --disable-log-requests > $OUT/ours-serve.log 2>&1 &
P=$!
for i in $(seq 240); do curl -s localhost:8000/health >/dev/null && break; sleep 0.5; done
t "ready"
timeout 150 python3 scripts/deployment_check.py --base-url http://127.0.0.1:8000 --model qwen --field guided_json > $OUT/ours-check.json
echo "rc=$?"; cat $OUT/ours-check.json
kill $P; wait $P 2>/dev/null
t "vLLM serve"
timeout 330 python3 -m vllm.entrypoints.cli.main serve /tmp/q14 --load-format dummy --dtype bfloat16 --kv-cache-dtype fp8 \
  --port 8001 --served-model-name qwen --enable-auto-tool-choice --tool-call-parser hermes > $OUT/vllm-serve.log 2>&1 &
V=$!
for i in $(seq 2400); do curl -sf localhost:8001/health >/dev/null && break; sleep 0.1; done
t "vLLM ready"; grep -iE "quantization|kv cache|Maximum concurrency" $OUT/vllm-serve.log | head -4
timeout 150 python3 scripts/deployment_check.py --base-url http://127.0.0.1:8001 --model qwen --field structured_outputs > $OUT/vllm-check.json
echo "rc=$?"; cat $OUT/vllm-check.json
kill $V; wait $V 2>/dev/null
t done
