#!/bin/bash
# H200, session 24 run2: block-scaled FP8 past 128 tokens on cuBLASLt's block-scaled FP8 GEMM (BLK128x128_32F weight
# scales, VEC128_32F activation scales; run1: linear_fp8_wgmma_block's prefill steps 525 ms against cuBLASLt FP8's
# 193 with a scale a row), linear_fp8_small's block steps with the k-block by a shift and two MMA chains at one token
# group (run1: W1 TPOT 3.485 against 3.027 with a scale a row). check-gpu; W1 / W2 / W3 of the block-FP8 Llama-3-8B,
# W2 / W3 also with cuBLASLt from 17 tokens (SWIFT_VLLM_FP8_BLOCK_WGMMA_MAX=16).
source docs/gpu-runs/lib.sh
FB=benchmarks/configs/llama3-8b-fp8-block
t check-gpu
timeout 240 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens > $L/check-gpu.log 2>$L/check-gpu.err; echo "check-gpu exit $?"
grep -E "FAIL|declined|all passed|failure|Error|blocks.*blasLt" $L/check-gpu.log | head -40; tail -3 $L/check-gpu.err
t W1 / W2 / W3
w1 fp8block --model $FB
w2 fp8block --model $FB
SWIFT_VLLM_FP8_BLOCK_WGMMA_MAX=16 w2 fp8block-lt17 --model $FB
w3 fp8block --model $FB
SWIFT_VLLM_FP8_BLOCK_WGMMA_MAX=16 w3 fp8block-lt17 --model $FB
w1 fp8 --model $B --quantization fp8
finish
