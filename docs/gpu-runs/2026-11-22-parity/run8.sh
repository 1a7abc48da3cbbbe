#!/bin/bash
# ncu on one decode-attention launch at batch 64 (llama3-8b shape): occupancy, memory, stall reasons.
cd "$(dirname "$0")"; K="--kernel-cache-dir /tmp/kc"
[ -x /tmp/sv ] || { xz -dc sv.xz > /tmp/sv && chmod +x /tmp/sv; }
[ -d /tmp/llama ] || python3 hf_peer.py --shape llama3-8b --only none --save /tmp/llama 2>&1 | grep -v Warning | tail -1
NCU=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu | head -1)
timeout 400 $NCU --kernel-name regex:paged_attention_bf16 --launch-skip 2120 --launch-count 1 \
  --section SpeedOfLight --section Occupancy --section LaunchStats --section WarpStateStats --section MemoryWorkloadAnalysis \
  /tmp/sv check-gpu $K --skip-ops --model /tmp/llama --profile-decode 64 > $OUT/ncu.txt 2>&1
echo "ncu exit $?"; grep -vE "^==PROF==|^kernel|^  (linear|rms|add_rms|rotary|silu|reshape|sample|upload|bias|embedding|gather|copy)" $OUT/ncu.txt | tail -90
