#!/bin/bash
# H200, session 25 run1: session 24's run3, not started then (every start refused). The block-scaled FP8 path as landed
# and now the default (SWIFT_VLLM_FP8_BLOCKS=0 dequantizes at load, as before): cuBLASLt's block-scaled GEMM given a
# multiple of 4 tokens (up to 1024 padded into scratch, past that the last 1–3 by linear_fp8_small),
# linear_fp8_wgmma_block reading x's scales tokens-contiguous. check-gpu (its block rows at 1–1027 tokens, the fp8-block
# goldens); W1 / W2 / W3 of the block-FP8 Llama-3-8B, W2 also with cuBLASLt from 17 tokens and dequantized at load;
# --quantization fp8 (a scale a row) W1 / W2 in the same lease for the ratio.
source docs/gpu-runs/lib.sh
FB=benchmarks/configs/llama3-8b-fp8-block
t check-gpu
timeout 300 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens > $L/check-gpu.log 2>$L/check-gpu.err; echo "check-gpu exit $?"
grep -E "FAIL|declined|all passed|failure|Error|blocks.*(blasLt|cuBLASLt)" $L/check-gpu.log | head -40; tail -2 $L/check-gpu.err
t W1 / W2 / W3
w1 fp8block --model $FB
w2 fp8block --model $FB
SWIFT_VLLM_FP8_BLOCK_WGMMA_MAX=16 w2 fp8block-lt17 --model $FB
w1 fp8 --model $B --quantization fp8
w2 fp8 --model $B --quantization fp8
w2 fp8block-2 --model $FB
w3 fp8block --model $FB
SWIFT_VLLM_FP8_BLOCKS=0 w2 fp8block-dequantized --model $FB
grep -h "KV cache:" $L/fp8block-w2.log $L/fp8-w2.log $L/fp8block-dequantized-w2.log
cp /tmp/sv /root/sv && cp .gpu/w3_lengths.json /root/  # for run2b, the peer's second call in the same lease
finish
