#!/bin/bash
# H200: linear_fp8_small's loop against variants (benchmarks/kernels/fp8_gemv_bench.cu, built here with pip's nvcc 13.0
# and carried as .gpu/fp8bench): rows per CTA (8, 16), k-steps per iteration, activations loaded before the MMAs,
# the next iteration's weights prefetched. run2 measured the shipped kernel at 1.4–2.7 TB/s of fp8 bytes.
.gpu/fp8bench 100
# The harness has since been cut to instantiations of the shipped kernel (session 13's review): this run's other variants were copies of its loop.
