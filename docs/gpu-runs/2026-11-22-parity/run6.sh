#!/bin/bash
# Decode profile on the llama3-8b shape (random weights saved by hf_peer.py): wall time a step and GPU
# time per op at batch 1 and 64; then W1 latency and W2 throughput for the record.
export PYTHONUNBUFFERED=1
cd "$(dirname "$0")"; K="--kernel-cache-dir /tmp/kc"
xz -dc sv.xz > /tmp/sv && chmod +x /tmp/sv
S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
[ -d /tmp/llama ] || python3 hf_peer.py --shape llama3-8b --only none --save /tmp/llama 2>&1 | grep -v Warning | tail -1
t "profile"
timeout 240 /tmp/sv check-gpu $K --skip-ops --model /tmp/llama --profile-decode 1 64 2>&1 | grep -v "^kernel" | tee $OUT/profile.log
t "done"
