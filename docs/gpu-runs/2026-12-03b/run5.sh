#!/bin/bash
# H200, session 25 run5: the per-token-per-128-column activation quantization of block-scaled FP8 linears folded into
# the ops before them (add_rms_norm_vec_quant_fp8_groups_bf16, rms_norm_…, silu_and_mul_quant_fp8_groups_bf16), as the
# per-token one is for per-row FP8: where cuBLASLt's block-scaled GEMM takes the step's whole multiple of 4 tokens.
# check-gpu (the fused rows bit for bit against the linear quantizing its own input); W2 / W3 of the block-FP8 shape
# with it and with SWIFT_VLLM_FUSED_QUANT=0 (every FP8 linear quantizing its own input), alternated.
# NOT RUN: the session's device time ran out before a machine was lent. The change is run5/source.patch (applies on 33ee86b:
# `git apply`, build the release binary into .gpu/ as lib.sh expects, and the harness as
# benchmarks/kernels/elementwise_bench.cu's header says into .gpu/elementwise); land it if check-gpu passes.
# Run in session 26, unchanged, as docs/gpu-runs/2026-12-03c/run1.sh (check-gpu all passed; landed in fddeb01).
source docs/gpu-runs/lib.sh
FB=benchmarks/configs/llama3-8b-fp8-block
t check-gpu
timeout 300 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens > $L/check-gpu.log 2>$L/check-gpu.err; echo "check-gpu exit $?"
grep -E "FAIL|declined|all passed|failure|Error|feeding fp8.*blocks" $L/check-gpu.log | head -40; tail -2 $L/check-gpu.err
t the ops alone, µs: fused groups against the plain op + quantize_fp8_groups_bf16
.gpu/elementwise 30 | grep -E "groups|memcpy"
t W2 / W3
w2 fp8block-fused --model $FB
SWIFT_VLLM_FUSED_QUANT=0 w2 fp8block-separate --model $FB
w2 fp8block-fused-2 --model $FB
SWIFT_VLLM_FUSED_QUANT=0 w2 fp8block-separate-2 --model $FB
w3 fp8block-fused --model $FB
SWIFT_VLLM_FUSED_QUANT=0 w3 fp8block-separate --model $FB
finish
