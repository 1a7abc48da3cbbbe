#!/bin/bash
# H200, session 25 run4c (same lease as run4b, right after it): swift-vllm (run1's binary) on the same block-FP8 shape,
# with the rule landed after run2b (cuBLASLt's block-scaled GEMM from 17 tokens: SWIFT_VLLM_FP8_BLOCK_WGMMA_MAX=16 on
# this binary), W1 / W2, beside run4b's vLLM.
source docs/gpu-runs/lib.sh
FB=benchmarks/configs/llama3-8b-fp8-block
export SWIFT_VLLM_FP8_BLOCK_WGMMA_MAX=16
w1 fp8block --model $FB
w2 fp8block --model $FB
w2 fp8block-2 --model $FB
finish
