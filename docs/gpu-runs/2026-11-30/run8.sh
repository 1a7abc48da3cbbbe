#!/bin/bash
# H200: where the host's time goes inside a step — the runner's prepare / launch / wait a step, and the
# host time queuing each op (profile with the stream held, so a launch that blocks shows as host time).
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; M="--model benchmarks/configs/llama3-8b --load-format dummy"
timeout 120 /tmp/sv check-gpu $K --skip-ops $M --profile-decode 1 256 > $OUT/profile.log 2>&1
grep -vE "^kernel" $OUT/profile.log
