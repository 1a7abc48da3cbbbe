#!/bin/bash
# H200, session 21 run7: the landed binary (ec4af49: linear_fp8_wgmma up to 128 tokens; wgmma.cuh shared with the 4-bit
# GEMM). check-gpu; W3 of `--quantization fp8` and of GPTQ-int4 (its 33+-sequence steps take linear_int4_wgmma); W1 GPTQ-int4.
source docs/gpu-runs/lib.sh
t check-gpu
timeout 170 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens > $L/check-gpu.log 2>$L/check-gpu.err; echo "check-gpu exit $?"
grep -E "FAIL|declined|greedy|all passed|failure|Error" $L/check-gpu.log | head -20
t W3
w3 fp8 --model $B --quantization fp8
w3 int4 --model $I
w1 int4 --model $I
finish
