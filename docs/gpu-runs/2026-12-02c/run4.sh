#!/bin/bash
# H200, session 19 run4: the deep linears (down) in two-warpgroup tiles at 129–256 tokens (fc7bec8) in the engine,
# against the rule before in the same binary (SWIFT_VLLM_INT4_WGMMA_DEEP_TILES=0), alternated: W2 of the Llama-3-8B
# and Qwen2.5-14B GPTQ-int4 shapes, W3 of the 8B; W1 of int4 and bf16 and check-gpu on the binary with pipeline
# parallelism merged (its CUDA-path changes: the forward's stage hand-off, KV sizing per rank).
source docs/gpu-runs/lib.sh
nvidia-smi --query-gpu=name,clocks.max.sm,clocks.max.mem,clocks.sm --format=csv,noheader
t W2
w2 warm --model $I
w2 int4 --model $I
SWIFT_VLLM_INT4_WGMMA_DEEP_TILES=0 w2 int4-before --model $I
w2 int4-again --model $I
SWIFT_VLLM_INT4_WGMMA_DEEP_TILES=0 w2 int4-before-again --model $I
w2 qwen14b --model $Q --kv-cache-dtype fp8
SWIFT_VLLM_INT4_WGMMA_DEEP_TILES=0 w2 qwen14b-before --model $Q --kv-cache-dtype fp8
w2 qwen14b-again --model $Q --kv-cache-dtype fp8
SWIFT_VLLM_INT4_WGMMA_DEEP_TILES=0 w2 qwen14b-before-again --model $Q --kv-cache-dtype fp8
t W3, W1
w3 int4 --model $I
SWIFT_VLLM_INT4_WGMMA_DEEP_TILES=0 w3 int4-before --model $I
w1 int4 --model $I
w1 bf16 --model $B
t check-gpu
timeout 200 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens > $L/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|greedy .*pass|all passed|failure|Error" $L/check-gpu.log | head -12
grep -E "K8192|K14336" $L/check-gpu.log | head -20
finish
