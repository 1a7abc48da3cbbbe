#!/bin/bash
# H200, session 21 run3, the binary to land: linear_fp8_small back as it was (run2: the folds made it slower); the norms
# and SiLU·mul quantizing their output for the FP8 linear after them, SiLU·mul's kernel with every load first and two
# CTAs an SM (run2's, chunk by chunk, was slower than silu_and_mul_vec + quantize_fp8_rows_bf16). check-gpu; W2 of
# `--quantization fp8` with the fused quantization and without (SWIFT_VLLM_FUSED_QUANT=0) alternated; W1 of every
# format; op by op.
source docs/gpu-runs/lib.sh
t check-gpu
timeout 200 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens > $L/check-gpu.log 2>$L/check-gpu.err; echo "check-gpu exit $?"
grep -E "FAIL|declined|greedy|all passed|failure|Error" $L/check-gpu.log | head -20
grep -E "feeding" $L/check-gpu.log | awk '{print $NF}' | sort | uniq -c
t "W2 fp8, quantization fused / not"
w2 fp8 --model $B --quantization fp8
SWIFT_VLLM_FUSED_QUANT=0 w2 fp8-noquant --model $B --quantization fp8
w2 fp8-again --model $B --quantization fp8
SWIFT_VLLM_FUSED_QUANT=0 w2 fp8-noquant-again --model $B --quantization fp8
t "W1"
w1 int4 --model $I
w1 int4-again --model $I
w1 fp8 --model $B --quantization fp8
w1 q14 --model $Q --kv-cache-dtype fp8
w1 bf16 --model $B
t "W2 GPTQ-int4, Qwen2.5-14B GPTQ-int4 + fp8 KV, bf16"
w2 int4 --model $I
w2 q14 --model $Q --kv-cache-dtype fp8
w2 bf16 --model $B
t "fp8 W2 op by op (--profile), fused / not"
for q in 1 0; do
  SWIFT_VLLM_FUSED_QUANT=$q timeout 100 /tmp/sv bench throughput --model $B --quantization fp8 --load-format dummy --num-prompts 256 --input-len 512 --output-len 128 $K --profile > $L/fp8-profile-$q.json 2>$L/fp8-profile-$q.log
  echo "fused quantization $q:"; grep -A12 "^GPU" $L/fp8-profile-$q.log
done
finish
