#!/bin/bash
# H200, session 26 run5 — NOT RUN: 272 s of device time were left, too little to start a machine. For the next session.
# fp8_blaslt_splitk.cu as committed after run2b: run2b's measurements, and the same GEMMs with scalar scales — which
# configurations cuBLASLt answers when the scales are not outer vectors (larger tiles at W2's 16,384-token prefill,
# split-K at 64–256 tokens?), each timed. If some beat the outer-vector configuration (prefill gate_up 2,721 µs,
# 1.41 PFLOP/s; decode down 38 µs at 64 CTAs), the engine could take them with the row scales as an alpha vector
# (CUBLASLT_POINTER_MODE_ALPHA_DEVICE_VECTOR_BETA_ZERO) and the token scales applied by the op after the GEMM — a
# second rounding of the output, which vLLM's CUTLASS epilogue does not have: measure first.
# Build here as run2.sh says (the wheel's cuBLASLt headers, nvidia-cublas and nvidia-cuda-cccl from PyPI), into .gpu/splitk.
source docs/gpu-runs/lib.sh
t cuBLASLt FP8 candidates, outer-vector and scalar scales
LD_LIBRARY_PATH=/usr/local/cuda/lib64:/usr/local/cuda/targets/x86_64-linux/lib timeout 400 .gpu/splitk > $L/splitk.log 2>&1; echo "exit $?"
grep -E "^cuBLASLt|first answer |best:|scalar scales" $L/splitk.log
finish
