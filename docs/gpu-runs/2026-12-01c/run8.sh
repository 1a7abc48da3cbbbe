#!/bin/bash
# H200: linear_int4_gemm's MMA order and dequantization placement (ORDER 0 shipped, 1 the two k-halves of one
# accumulator apart, 2 also the next word dequantized before this one's MMAs), at 100 tokens (width 7) and 128 (8).
# (The ORDER parameter and the n7o*/n8o* variants were taken out after this run: ptxas schedules all three alike.)
L=$OUT; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
nvcc -O3 -std=c++17 -arch=sm_90a -I Sources/VLLMCUDA/Kernels -o /tmp/b benchmarks/kernels/int4_gemm_bench.cu || exit 1
t built
for shape in "7168 5120" "5120 5120" "27648 5120" "5120 13824"; do
  for v in n7o0 n7o1 n7o2; do timeout 60 /tmp/b 100 $shape 300 $v; done
  for v in shipped n8o1 n8o2; do timeout 60 /tmp/b 128 $shape 300 $v; done
done | tee $L/times.txt | cut -c1-100
t done
