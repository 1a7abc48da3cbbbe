#!/bin/bash
# H200, session 20 run5: run4's binary plus the greedy argmax in one kernel (argmax_f32: a row's last CTA merges the
# slices; before, argmax_final_f32 was a kernel of its own) and no gather of the final norm's rows when every row is
# sampled (a decode step). W1 first (the budget left is short), then check-gpu (sample.greedy against the CPU;
# stories260K greedy GPU = CPU through the engine's greedy path).
source docs/gpu-runs/lib.sh
t W1
w1 int4 --model $I
w1 int4-again --model $I
w1 q14 --model $Q --kv-cache-dtype fp8
t check-gpu
timeout 170 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens > $L/check-gpu.log 2>$L/check-gpu.err; echo "check-gpu exit $?"
grep -E "FAIL|declined|greedy|all passed|failure|Error" $L/check-gpu.log | head -20
finish
