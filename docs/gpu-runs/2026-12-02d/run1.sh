#!/bin/bash
# H200, session 20 run1: the q/k/v split (rotary, cache write, fp8 conversion) folded into the decode linears' epilogue
# (LinearEpilogue.splitQKV, linear_epilogue.cuh's LINEAR_QKV). check-gpu first (the new fusedLinear + splitQKV rows: bit
# for bit against the GPU's linear → splitQKV, and against the CPU), then W1 with the fold and without it
# (SWIFT_VLLM_FUSED_SPLIT=0), alternated, on one binary.
source docs/gpu-runs/lib.sh
t check-gpu
timeout 240 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens > $L/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|declined|greedy|all passed|failure|Error" $L/check-gpu.log | head -20
grep -c "splitQKV" $L/check-gpu.log
t W1
w1 int4 --model $I
SWIFT_VLLM_FUSED_SPLIT=0 w1 int4-unfused --model $I
w1 int4-again --model $I
SWIFT_VLLM_FUSED_SPLIT=0 w1 int4-unfused-again --model $I
w1 bf16 --model $B
SWIFT_VLLM_FUSED_SPLIT=0 w1 bf16-unfused --model $B
w1 q14 --model $Q --kv-cache-dtype fp8
SWIFT_VLLM_FUSED_SPLIT=0 w1 q14-unfused --model $Q --kv-cache-dtype fp8
finish
