#!/bin/bash
# H200, session 22 run2: linear_int4_decode's warps each load their first two 128-k steps of weights before the wait
# (SWIFT_VLLM_INT4_EARLY=2, the default of this binary) against one (=1, as before), alternated. check-gpu; W1 of
# GPTQ-int4 (Llama-3-8B) and of Qwen2.5-14B GPTQ-int4 + fp8 KV; W3 GPTQ-int4.
source docs/gpu-runs/lib.sh
t check-gpu
timeout 170 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens > $L/check-gpu.log 2>$L/check-gpu.err; echo "check-gpu exit $?"
grep -E "FAIL|declined|greedy|all passed|failure|Error" $L/check-gpu.log | head -20
t "W1 int4, early 2 / 1 alternated"
for i in 1 2 3; do
  w1 int4-e2-$i --model $I
  SWIFT_VLLM_INT4_EARLY=1 w1 int4-e1-$i --model $I
done
t "W1 Qwen2.5-14B GPTQ-int4 + fp8 KV"
for i in 1 2; do
  w1 q14-e2-$i --model $Q --kv-cache-dtype fp8
  SWIFT_VLLM_INT4_EARLY=1 w1 q14-e1-$i --model $Q --kv-cache-dtype fp8
done
t "W3 int4"
w3 int4-e2 --model $I
SWIFT_VLLM_INT4_EARLY=1 w3 int4-e1 --model $I
finish
