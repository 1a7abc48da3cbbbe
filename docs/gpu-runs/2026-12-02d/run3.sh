#!/bin/bash
# H200, session 20 run3: run2's binary with the fused split's step inputs held in shared memory through the main loop
# (run2 held them in registers in linear_small and linear_int4_small, read before the first weight loads: bf16 W1
# fused 4.348 / 4.340 against 4.295 / 4.285 ms unfused), and check-gpu's fp8-cache rows against the CPU bounded by one
# step of the format. check-gpu, W1 fused and not (SWIFT_VLLM_FUSED_SPLIT=0) alternated, W3 GPTQ-int4 both ways.
source docs/gpu-runs/lib.sh
t check-gpu
timeout 240 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens > $L/check-gpu.log 2>$L/check-gpu.err; echo "check-gpu exit $?"
grep -E "FAIL|declined|greedy|all passed|failure|Error" $L/check-gpu.log | head -20
grep "splitQKV" $L/check-gpu.log | grep -v "^splitQKV" | awk '{print $(NF-2)}' | sort -g | tail -1
t W1
w1 bf16 --model $B
SWIFT_VLLM_FUSED_SPLIT=0 w1 bf16-unfused --model $B
w1 int4 --model $I
SWIFT_VLLM_FUSED_SPLIT=0 w1 int4-unfused --model $I
w1 bf16-again --model $B
SWIFT_VLLM_FUSED_SPLIT=0 w1 bf16-unfused-again --model $B
w1 int4-again --model $I
SWIFT_VLLM_FUSED_SPLIT=0 w1 int4-unfused-again --model $I
w1 q14 --model $Q --kv-cache-dtype fp8
SWIFT_VLLM_FUSED_SPLIT=0 w1 q14-unfused --model $Q --kv-cache-dtype fp8
t W3
w3 int4 --model $I
SWIFT_VLLM_FUSED_SPLIT=0 w3 int4-unfused --model $I
finish
