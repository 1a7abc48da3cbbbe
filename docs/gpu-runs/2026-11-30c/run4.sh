#!/bin/bash
# H200: fp8 → bf16 by the hardware's cvt.rn.f16x2.e4m3x2 / e5m2x2 (sm_89+) in the attention kernels' staging;
# the fp8-cache ops against the CPU, then W1 / W2 of the Llama-3-8B shape (bf16, fp8 cache).
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"
timeout 240 /tmp/sv check-gpu $K > $OUT/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|all passed|failure|rror" $OUT/check-gpu.log | head -4; grep -E "float8" $OUT/check-gpu.log | head -12
M="--model benchmarks/configs/llama3-8b --load-format dummy --kv-cache-dtype fp8"
timeout 90 /tmp/sv bench latency $M --input-len 512 --output-len 128 --num-iters 5 $K 2>/dev/null | grep -E "^\{"
timeout 90 /tmp/sv bench throughput $M --num-prompts 256 --input-len 512 --output-len 128 $K 2>/dev/null | grep -E "^\{" | python3 -c "import json,sys; d=json.loads(sys.stdin.read()); print('W2', d['output_tokens_per_s'], d['gpu_ms_by_step'])"
timeout 90 /tmp/sv bench throughput --model benchmarks/configs/llama3-8b --load-format dummy --num-prompts 256 --input-len 512 --output-len 128 $K 2>/dev/null | grep -E "^\{" | python3 -c "import json,sys; d=json.loads(sys.stdin.read()); print('W2 bf16 cache', d['output_tokens_per_s'], d['gpu_ms_by_step'])"
