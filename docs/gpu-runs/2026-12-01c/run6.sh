#!/bin/bash
# H200: linear_int4_gemm with 3 CTAs an SM (12 warps, 3 stages; the registers cut to 168, a few spilled) and with
# 3 stages at 2 CTAs, against the shipped tile (2 CTAs, 4 stages), Qwen2.5-14B GPTQ-int4 shapes at 100 and 128 tokens.
L=$OUT; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
nvcc -O3 -std=c++17 -arch=sm_90a -I Sources/VLLMCUDA/Kernels -o /tmp/b benchmarks/kernels/int4_gemm_bench.cu || exit 1
t built
for M in 100 128; do
  for shape in "7168 5120" "5120 5120" "27648 5120" "5120 13824"; do
    for v in shipped n8x3s3 n7x3s3 n8x2s3; do timeout 60 /tmp/b $M $shape 300 $v; done
  done
done | tee $L/times.txt | cut -c1-112
t done
