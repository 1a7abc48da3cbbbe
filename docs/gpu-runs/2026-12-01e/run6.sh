#!/bin/bash
# H200: a CUDA-core 4-bit GEMV for 1–2 tokens (linear_int4_gemv: 8 rows a warp, K halved between two warps, lane l
# taking 32 k of every 1024, Σ(128 + code)·x in f32 then scale · (that − (128 + zero)·Σx)) against linear_int4_small,
# in the first version of benchmarks/kernels/int4_decode_bench.cu. It lost on every shape but Qwen2.5-14B's qkv at one
# token (run6/int4gemv.log) and was deleted; the harness now compares linear_int4_small with row-tile variants (run7).
.gpu/int4gemv 100
