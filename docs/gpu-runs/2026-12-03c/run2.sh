#!/bin/bash
# H200, session 26 run2: cuBLASLt's per-row FP8 GEMM (the engine's plan) at decode batches of 64–256 tokens and at
# W2's 16,384-token prefill step — the heuristic's first answer (the engine's choice) against its other answers and
# against the first answer with K split 2–8 ways (benchmarks/kernels/fp8_blaslt_splitk.cu, built here against the
# wheel's cuBLASLt 13.10 headers — pip download nvidia-cublas nvidia-cuda-cccl, nvcc -I their include folders,
# -L the cublas wheel's lib, -lcublasLt; run against the machine's /usr/local/cuda libcublasLt). W2's decode steps of 129+
# sequences run o, qkv and down through it at 40–64 of 132 SMs' worth of tiles.
# run2b: the same with the K split by hand (a strided batch of K-parts into f32 partials, added by a kernel).
source docs/gpu-runs/lib.sh
t cuBLASLt FP8 candidates
LD_LIBRARY_PATH=/usr/local/cuda/lib64:/usr/local/cuda/targets/x86_64-linux/lib timeout 400 .gpu/splitk > $L/splitk.log 2>&1; echo "exit $?"
grep -E "^cuBLASLt|first answer |best:|batch of" $L/splitk.log
finish
