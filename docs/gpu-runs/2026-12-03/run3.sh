#!/bin/bash
# H200, session 24 run3: run2's binary with cuBLASLt's block-scaled GEMM given a multiple of 4 tokens (run3p, the probe:
# 17 and 1143 tokens NOT_SUPPORTED, 16 / 20 / 1144 answered, scales read rows-major — weight [N / 128][K / 128], x
# [K / 128][T]): past 1024 tokens the last 1–3 by linear_fp8_small, up to 1024 padded into scratch and copied.
# linear_fp8_wgmma_block reads x's scales tokens-contiguous, two tokens a load (run1: its 33–128-token steps 7.50 ms
# against 5.59 for the per-row FP8 wgmma). check-gpu; W1 / W2 / W3 of the block-FP8 Llama-3-8B, W2 also with
# cuBLASLt from 17 tokens.
source docs/gpu-runs/lib.sh
FB=benchmarks/configs/llama3-8b-fp8-block
t check-gpu
timeout 240 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens > $L/check-gpu.log 2>$L/check-gpu.err; echo "check-gpu exit $?"
grep -E "FAIL|declined|all passed|failure|Error|blocks.*blasLt" $L/check-gpu.log | head -40; tail -2 $L/check-gpu.err
t W1 / W2 / W3
w1 fp8block --model $FB
w2 fp8block --model $FB
SWIFT_VLLM_FP8_BLOCK_WGMMA_MAX=16 w2 fp8block-lt17 --model $FB
w3 fp8block --model $FB
cp /tmp/sv /root/sv && cp .gpu/w3_lengths.json /root/  # for run4c, after the peer arrives in the same lease
finish
