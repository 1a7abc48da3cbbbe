#!/bin/bash
# H200, session 16 run8: the 4-bit paths against cuBLASLt on bf16 weights per linear and token count (check-gpu
# --bench-linear; weights rotated past L2), for run7's finding that the 4-bit linears trail bf16 at 32 and 256
# sequences. Cut off by the session's device time; the lines printed before are kept.
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
timeout 270 /tmp/sv check-gpu --kernel-cache-dir /tmp/kc --skip-ops --bench-linear > $OUT/bench-linear.log 2>&1
echo "rc=$?"; grep -E "bench-linear (qkv|gate_up|down|q / o) T (16|24|32|48|64|128|256) " $OUT/bench-linear.log | cut -c1-400
