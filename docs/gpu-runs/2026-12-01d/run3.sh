#!/bin/bash
# H200, run3: run2 again after the wgmma kernel's rework (run2: ~3,000 cycles a chunk — ~800 instructions a chunk
# from per-chunk address arithmetic, and ptxas serializing the wgmmas; now each thread's copy addresses are fixed and
# every wgmma is waited for within its chunk, the next chunk dequantized meanwhile: 180 instructions a chunk, no
# serialization). The 4-bit GEMM on wgmma (sm_90a) beside the shipped mma.sync GEMM, kernel alone:
# benchmarks/kernels/int4_gemm_bench.cu built on the CPU machine with nvcc 13.0 (-arch=sm_90a, cudart static) and
# carried as .gpu/int4bench. Each line: µs a call (with split-K's reduce), TFLOP/s, and the largest difference from
# the shipped kernel's output relative to its largest value. Qwen2.5-14B's linears at 64-256 tokens, Llama-3-8B's
# gate_up.
cp .gpu/int4bench /tmp/b && chmod +x /tmp/b
for M in 100 128 64 80 256; do
  for NK in "27648 5120" "7168 5120" "5120 5120" "5120 13824" "28672 4096"; do
    timeout 60 /tmp/b $M $NK 200 | grep -E "shipped|wg" | sed 's/, sum [^,]*//'
  done
done
