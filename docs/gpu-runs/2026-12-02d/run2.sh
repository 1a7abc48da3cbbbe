#!/bin/bash
# H200, session 20 run2: run1's binary mended — check-gpu's new rows compared two GPU tensors through the CPU backend
# (run1's segfault), and the fused split's step inputs (positions → rotary cos / sin, slots) now read before the wait
# (registers; shared memory in linear_int4_decode), since run1 had bf16 W1 slower fused (4.327 against 4.259 ms: the
# epilogue's dependent loads on each of linear_small's three waves). check-gpu (its ops logged to stderr as they are
# recorded), then W1 fused and not, alternated.
source docs/gpu-runs/lib.sh
t check-gpu
timeout 240 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens > $L/check-gpu.log 2>$L/check-gpu.err; echo "check-gpu exit $?"
tail -2 $L/check-gpu.err
grep -E "FAIL|declined|greedy|all passed|failure|Error" $L/check-gpu.log | head -20
grep "splitQKV" $L/check-gpu.log | sort -t'|' -k4 -g | tail -4
t W1
w1 bf16 --model $B
SWIFT_VLLM_FUSED_SPLIT=0 w1 bf16-unfused --model $B
w1 int4 --model $I
SWIFT_VLLM_FUSED_SPLIT=0 w1 int4-unfused --model $I
w1 bf16-again --model $B
SWIFT_VLLM_FUSED_SPLIT=0 w1 bf16-unfused-again --model $B
w1 q14 --model $Q --kv-cache-dtype fp8
w1 fp8 --model $B --quantization fp8
finish
