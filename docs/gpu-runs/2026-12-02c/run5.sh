#!/bin/bash
# H200, session 19 run5: the small kernels of a decode step start their independent loads before grid_dependency_wait,
# under the kernel before's tail (programmatic dependent launch): the norms' weights, split_qkv_vec's positions, slots
# and rotary rows, decode_attention_mma's block-table lookups and first chunk of K/V (the keys this step writes
# excepted). W1 of bf16, GPTQ-int4 and fp8 (against run4's 4.336 / 2.137 ms on the binary before), W3 bf16, and
# check-gpu (every op against the CPU, the goldens, stories260K greedy).
source docs/gpu-runs/lib.sh
nvidia-smi --query-gpu=name,clocks.max.sm,clocks.max.mem --format=csv,noheader
t W1
w1 warm --model $I
for r in 1 2; do
  w1 int4-$r --model $I
  w1 bf16-$r --model $B
  w1 fp8-$r --model $B --quantization fp8
done
w1 qwen14b --model $Q --kv-cache-dtype fp8
t W3
w3 bf16 --model $B
w3 int4 --model $I
t check-gpu
timeout 200 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens > $L/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|greedy .*pass|all passed|failure|Error" $L/check-gpu.log | head -12
grep -iE "rmsNorm|splitQKV|decodeAttention|decode attention" $L/check-gpu.log | head -30
finish
