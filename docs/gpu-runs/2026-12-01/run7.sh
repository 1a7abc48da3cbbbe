#!/bin/bash
# H200, multi-LoRA 7: check-gpu --lora-goldens with the third model, a 4-bit base (compressed-tensors W4A16; its
# linears on the int4 kernels in bf16) and its PEFT adapter.
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
timeout 200 /tmp/sv check-gpu --kernel-cache-dir /tmp/kc --skip-ops --lora-goldens Tests/VLLMModelsTests/Goldens > $OUT/check-gpu.log 2>&1
echo "check-gpu exit $?"; grep -E "FAIL|greedy|all passed|failure|quantized" $OUT/check-gpu.log | head -40
