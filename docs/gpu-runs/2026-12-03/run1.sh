#!/bin/bash
# H200, session 24 run1: FP8 weights with 128 × 128 block scales (DeepSeek / Qwen3-FP8 checkpoints) kept e4m3 on the
# GPU — linear_fp8_small with the blocks' scales (≤ 16 tokens), quantize_fp8_groups_bf16 + linear_fp8_wgmma_block past
# that, or the weight widened to bf16 for cuBLASLt — where until now they were dequantized to bf16 at load.
# check-gpu (the new block rows, the fp8-block goldens through the new kernels); W1 / W2 of the Llama-3-8B shape as
# block FP8, W2 with the prefill's steps (> 128 tokens) widened instead; --quantization fp8 (per-channel) W2 twice and
# W1 on a second lease of #20's ≥ 11,000; bf16 W2 for the ratio; each start-up's KV cache line.
source docs/gpu-runs/lib.sh
FB=benchmarks/configs/llama3-8b-fp8-block
t check-gpu
timeout 240 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens > $L/check-gpu.log 2>$L/check-gpu.err; echo "check-gpu exit $?"
grep -E "FAIL|declined|greedy|all passed|failure|Error|blocks" $L/check-gpu.log | head -40
t W1 / W2
w1 fp8block --model $FB
w2 fp8block --model $FB
SWIFT_VLLM_FP8_BLOCK_WGMMA_MAX=128 w2 fp8block-widened --model $FB
w2 fp8-1 --model $B --quantization fp8
w1 fp8 --model $B --quantization fp8
w2 fp8-2 --model $B --quantization fp8
w2 bf16 --model $B
w3 fp8block --model $FB
grep -h "KV cache:" $L/fp8block-w2.log $L/fp8-1-w2.log $L/bf16-w2.log
finish
