#!/bin/bash
# H200: linear.cu and linear_int4.cu issue their first weight loads before waiting for the kernel before them
# (programmatic dependent launch: weights depend on nothing earlier). Every op against the CPU, then W1 of the
# Llama-3-8B shape in bf16 and as GPTQ-int4, W1 of the Qwen2.5-14B GPTQ-int4 shape with an fp8 cache, W2 bf16.
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"
timeout 200 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K > $OUT/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|greedy|all passed" $OUT/check-gpu.log | head -4
for m in "llama3-8b auto" "llama3-8b-gptq-int4 auto" "qwen2.5-14b-gptq-int4 fp8"; do
  set -- $m
  timeout 90 /tmp/sv bench latency --model benchmarks/configs/$1 --load-format dummy --kv-cache-dtype $2 --input-len 512 --output-len 128 --num-iters 5 $K 2>/dev/null | grep -E "^\{" | python3 -c "import json,sys; d=json.loads(sys.stdin.read()); print('$1 kv=$2 W1 TTFT', round(d['ttft_ms_median'],2), 'TPOT', round(d['tpot_ms_median'],3))"
done
timeout 90 /tmp/sv bench throughput --model benchmarks/configs/llama3-8b --load-format dummy --num-prompts 256 --input-len 512 --output-len 128 $K 2>/dev/null | grep -E "^\{" | python3 -c "import json,sys; d=json.loads(sys.stdin.read()); print('llama3-8b W2', round(d['output_tokens_per_s'],1))"
