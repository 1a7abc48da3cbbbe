#!/bin/bash
# H200, session 24 run3p: which block-scaled cuBLASLt FP8 configurations the heuristic answers, and the scale layout
# it reads (benchmarks/kernels/fp8_blaslt_probe.cu; run2's NOT_SUPPORTED at 17 / 1143 / 9758 tokens).
nvcc -O2 -o /tmp/probe benchmarks/kernels/fp8_blaslt_probe.cu -lcublasLt 2>&1 | grep -v Wno | head -20; /tmp/probe
