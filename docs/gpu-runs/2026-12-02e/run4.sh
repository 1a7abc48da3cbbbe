#!/bin/bash
# H200, session 21 run4: a prototype FP8 GEMM for decode batches on wgmma (benchmarks/kernels/fp8_wgmma_bench.cu: both
# operands e4m3 from shared memory, stages filled by the tensor memory accelerator, scales at the end, K split where
# the grid is small), at 64 / 128 / 256 tokens on Llama-3-8B's and Qwen2.5-14B's linears, each checked against a plain
# f32 kernel; beside it cuBLASLt's FP8 GEMM (with the per-token quantization before it) on the same machine
# (check-gpu --bench-linear's fp8 columns).
# (The harness of this run was fp8_wgmma_bench.cu's first form, with its own kernel variants; the commit after run5 made
# it time linear_fp8_wgmma.cu's entry points instead.)
source docs/gpu-runs/lib.sh
python3 -c "import lzma, shutil; shutil.copyfileobj(lzma.open('.gpu/fp8wgmma.xz'), open('/tmp/fp8wgmma', 'wb'))"; chmod +x /tmp/fp8wgmma
t "fp8 wgmma prototype"
timeout 120 /tmp/fp8wgmma 200 | tee $L/fp8wgmma.txt
t "bench-linear (cuBLASLt fp8 at the same token counts)"
timeout 200 /tmp/sv check-gpu $K --skip-ops --bench-linear > $L/bench-linear.log 2>&1
grep -E "T (64|128|256) " $L/bench-linear.log | grep -v lm_head | sed -E 's/linear.cu [^,]*, //; s/int4 [^;]*;//'
finish
