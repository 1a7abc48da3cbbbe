#!/bin/bash
# H200, bench-serve lease 3/3: vLLM 0.26.0's server of the same model, loaded by the same two clients (clients.sh).
export PYTHONUNBUFFERED=1 PYTHONPATH=/root/site VLLM_USE_FLASHINFER_SAMPLER=0
L=/tmp/logs; rm -rf $L; mkdir -p $L
T0=$(date +%s%N); timeout 500 python3 -m vllm.entrypoints.cli.main serve /tmp/l8 --load-format dummy --dtype bfloat16 --port 18001 --served-model-name llama --no-enable-prefix-caching > $L/serve-vllm.log 2>&1 & V=$!
for i in $(seq 2400); do curl -sf localhost:18001/health >/dev/null && break; sleep 0.1; done
echo "vLLM ready after $(( ($(date +%s%N) - T0) / 1000000 )) ms"
bash docs/gpu-runs/2026-11-30e/clients.sh 18001 vllm
kill $V; wait $V 2>/dev/null
tar -C /tmp -czf $OUT/logs-vllm.tar.gz logs
