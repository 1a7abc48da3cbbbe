#!/bin/bash
# H200: linear_int4_small (16 rows a CTA, 4 k-steps of 128 in flight) against variants with 32 or 64 rows a CTA
# (benchmarks/kernels/int4_decode_bench.cu, built here with pip's nvcc 13.0 and carried as .gpu/int4decode): the lesson
# of run3 (fp8: more bytes a CTA) applied to the 4-bit decode kernel.
.gpu/int4decode 100
# The harness has since been cut to instantiations of the shipped kernel (session 13's review): this run's other variants were copies of its loop.
