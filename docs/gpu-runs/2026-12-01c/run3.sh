#!/bin/bash
# H200: linear_int4_gemm with token tiles cut to the batch (NT 5–7 eight-token tiles a warp, 40–56 tokens a CTA)
# against the shipped 64, Qwen2.5-14B GPTQ-int4 shapes at 80–128 tokens.
L=$OUT; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
nvcc -O3 -std=c++17 -arch=sm_90a -I Sources/VLLMCUDA/Kernels -o /tmp/b benchmarks/kernels/int4_gemm_bench.cu || exit 1
t built
for M in 80 100 112 128; do
  for shape in "7168 5120" "5120 5120" "27648 5120" "5120 13824"; do
    for v in shipped r4t1n7 r4t1n6 r4t1n5; do timeout 60 /tmp/b $M $shape 300 $v; done
  done
done | tee $L/times.txt
t done
