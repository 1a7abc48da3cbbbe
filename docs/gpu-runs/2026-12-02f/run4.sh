#!/bin/bash
# H200, session 22 run4: the landed binary (546dc76: linear_int4_decode with both stages' weights before its wait). check-gpu;
# W1 of every format; W2 and W3 of GPTQ-int4 and `--quantization fp8`, W2 of bf16 and of Qwen2.5-14B GPTQ-int4 + fp8 KV.
source docs/gpu-runs/lib.sh
t check-gpu
timeout 170 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens > $L/check-gpu.log 2>$L/check-gpu.err; echo "check-gpu exit $?"
grep -E "FAIL|declined|greedy|all passed|failure|Error" $L/check-gpu.log | head -20
t W1
w1 int4 --model $I
w1 int4-again --model $I
w1 fp8 --model $B --quantization fp8
w1 q14 --model $Q --kv-cache-dtype fp8
w1 bf16 --model $B
t W2
w2 int4 --model $I
w2 fp8 --model $B --quantization fp8
w2 bf16 --model $B
w2 q14 --model $Q --kv-cache-dtype fp8
t W3
w3 int4 --model $I
w3 fp8 --model $B --quantization fp8
finish
