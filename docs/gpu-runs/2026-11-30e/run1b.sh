#!/bin/bash
# H200, bench-serve lease 2/3 (after the peer's second part was joined, checked and unpacked into /root/site):
# `swift-vllm serve` of the Llama-3-8B shape (dummy weights, GPT-2's tokenizer) loaded by vLLM 0.26.0's own
# `bench serve` client and by `swift-vllm bench serve`, alternately, twice each: random 500 × (512 → 128) at rate inf,
# then at --max-concurrency 64.
export PYTHONUNBUFFERED=1 PYTHONPATH=/root/site VLLM_USE_FLASHINFER_SAMPLER=0
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
L=/tmp/logs; mkdir -p $L
mkdir -p /tmp/l8 && cp benchmarks/configs/llama3-8b/config.json .gpu/gpt2/* /tmp/l8/
T0=$(date +%s%N); /tmp/sv serve /tmp/l8 --load-format dummy --port 18000 --served-model-name llama --disable-log-requests --no-enable-prefix-caching --kernel-cache-dir /tmp/kc > $L/serve-ours.log 2>&1 & P=$!
for i in $(seq 1200); do curl -sf localhost:18000/health >/dev/null && break; sleep 0.05; done
echo "swift-vllm ready after $(( ($(date +%s%N) - T0) / 1000000 )) ms"
bash docs/gpu-runs/2026-11-30e/clients.sh 18000 ours
kill $P; wait $P 2>/dev/null
tar -C /tmp -czf $OUT/logs-ours.tar.gz logs
