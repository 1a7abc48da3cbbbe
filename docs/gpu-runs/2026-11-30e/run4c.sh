#!/bin/bash
# H200, after run3 (vLLM 0.26.0 unpacked again into /root/site by two calls as run3a.sh and run3b.sh): vLLM's n-gram
# speculation at k = 2 and 8 on run3's prompt ids (run3 measured its k = 4), with the time per verify step.
export PYTHONUNBUFFERED=1 PYTHONPATH=/root/site VLLM_USE_FLASHINFER_SAMPLER=0
L=/tmp/logs; rm -rf $L; mkdir -p $L
mkdir -p /tmp/l8 && cp benchmarks/configs/llama3-8b/config.json /tmp/l8/
for k in 2 8; do
  timeout 250 python3 scripts/vllm_spec_peer.py /tmp/l8 docs/gpu-runs/2026-11-30e/run3/logs/prompt-ids.json --output-len 128 --k $k > $L/vllm-spec-k$k.log 2>&1
  grep -E '^\{' $L/vllm-spec-k$k.log
done
tar -C /tmp -czf $OUT/logs-run4.tar.gz logs
