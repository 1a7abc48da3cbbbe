#!/bin/bash
# H200: linear_int4_wgmma with wider token tiles for decode steps of 129–256 sequences (W2/W3's): two warpgroups
# (128 rows) × 192 or 256 tokens (wgmma.m64n192 / m64n256, one CTA an SM) beside the shipped tiles (two of 96 or
# 128) and one warpgroup × 192/256. .gpu/int4n256 = benchmarks/kernels/int4_gemm_bench.cu, nvcc 13.0.
cp .gpu/int4n256 /tmp/b && chmod +x /tmp/b
for M in 256 192 160 224; do
  for NK in "6144 4096" "4096 4096" "28672 4096" "4096 14336" "7168 5120" "5120 5120" "27648 5120" "5120 13824"; do
    timeout 60 /tmp/b $M $NK 200 | grep -E "wg" | sed 's/, sum [^,]*//; s/, max |diff| \/ max |ref|/ diff/; s/ TFLOP\/s.*diff/ TF, diff/'
  done
done 2>&1 | tee $OUT/n256.txt
