#!/bin/bash
# H200: the release binary with linear_int4_wgmma wired in (CUDABackend.int4Path: 33-256 tokens on sm_90a, groups of
# 128). check-gpu (every op against the CPU, the wgmma path forced on ragged shapes; stories260K greedy GPU = CPU),
# then bench-linear (each 4-bit path by step size), then the kernel harness for the shipped choice.
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; L=$OUT; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
t check-gpu
timeout 240 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K > $L/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|greedy|all passed|kernels ready" $L/check-gpu.log | head -8; grep -c "linear int4" $L/check-gpu.log
grep "linear int4" $L/check-gpu.log | grep -E "wgmma|T(33|40|45|100|161|250) " | cut -c1-160 | head -20
t bench-linear
timeout 200 /tmp/sv check-gpu $K --bench-linear > $L/bench-linear.log 2>&1; echo "bench-linear exit $?"
grep -E "T (32|48|64|96|128|192|256|80|100) " $L/bench-linear.log | grep -v "k / v\|lm_head" | sed -E 's/bench-linear //; s/linear.cu n\/a, //; s/ [0-9]+ (GB|TFLOP)\/s//g; s/ packed//; s/ µs//g' | cut -c1-220
t done
