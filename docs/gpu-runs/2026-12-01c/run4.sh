#!/bin/bash
# H200, this session's release binary (linear_int4_gemm with token tiles cut to the step): every op against the CPU
# (check-gpu, each 4-bit path forced at several token counts), bench-linear (Llama-3-8B's linears at 1–2048 tokens,
# Qwen2.5-14B's at its decode batches 32–128: the GEMM beside dequantize + cuBLASLt), and the nvcc bench of the
# kernel at 80/100/128 tokens.
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; L=$OUT; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
timeout 200 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K > $L/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|greedy|all passed" $L/check-gpu.log | head -8; grep -c "linear int4" $L/check-gpu.log
t bench-linear
timeout 200 /tmp/sv check-gpu $K --skip-ops --bench-linear > $L/bench-linear.log 2>&1; echo "bench-linear exit $?"
grep -E "qwen14b" $L/bench-linear.log | sed 's/bench-linear //' | cut -c1-330
t int4-gemm-bench
nvcc -O3 -std=c++17 -arch=sm_90a -I Sources/VLLMCUDA/Kernels -o /tmp/b benchmarks/kernels/int4_gemm_bench.cu && \
for M in 80 100 128; do for shape in "7168 5120" "5120 5120" "27648 5120" "5120 13824"; do timeout 60 /tmp/b $M $shape 300 shipped; done; done | tee $L/int4-gemm-bench.txt | cut -c1-110
t done
