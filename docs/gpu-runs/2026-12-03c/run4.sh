#!/bin/bash
# H200, session 26 run4: the session's final binary (check-gpu's block rows skipped, with a line, where
# SWIFT_VLLM_FP8_BLOCKS=0 dequantizes block-scaled weights at load): check-gpu as landed, then with SWIFT_VLLM_FP8_BLOCKS=0.
source docs/gpu-runs/lib.sh
t check-gpu
timeout 300 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens > $L/check-gpu.log 2>$L/check-gpu.err; echo "check-gpu exit $?"
grep -E "FAIL|declined|all passed|failure|Error" $L/check-gpu.log | head -20; tail -2 $L/check-gpu.err
t check-gpu, SWIFT_VLLM_FP8_BLOCKS=0
SWIFT_VLLM_FP8_BLOCKS=0 timeout 300 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens > $L/check-gpu-blocks0.log 2>$L/check-gpu-blocks0.err; echo "check-gpu exit $?"
grep -E "FAIL|declined|all passed|failure|Error" $L/check-gpu-blocks0.log | head -20; grep -E "skipped" $L/check-gpu-blocks0.err | head; tail -2 $L/check-gpu-blocks0.err
finish
