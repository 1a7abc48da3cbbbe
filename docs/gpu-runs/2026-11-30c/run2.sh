#!/bin/bash
# H200 lease 1, call 2: linear_int4.cu's grouped path (groups of 128: scale once per 128-k step, an MMA of ones for
# Σx) — int4 ops against the CPU, bench-linear, decode profile at batch 1, W1 / W2 of both GPTQ-int4 shapes.
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"
S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
timeout 200 /tmp/sv check-gpu $K > $OUT/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|all passed|failure|rror" $OUT/check-gpu.log | head -5; grep -E "int4" $OUT/check-gpu.log | head -20
t "bench-linear"
timeout 150 /tmp/sv check-gpu $K --skip-ops --bench-linear > $OUT/bench-linear.log 2>&1; grep -E " T (1|8|16|32) " $OUT/bench-linear.log | sed 's/linear.cu.*cuBLASLt/cuBLASLt/'
timeout 120 /tmp/sv check-gpu $K --skip-ops --model benchmarks/configs/llama3-8b-gptq-int4 --load-format dummy --profile-decode 1 > $OUT/profile.log 2>&1; grep -A12 "decode, batch 1" $OUT/profile.log
for m in llama3-8b-gptq-int4 qwen2.5-14b-gptq-int4; do
  t "W1 / W2 $m"
  M="--model benchmarks/configs/$m --load-format dummy"
  timeout 90 /tmp/sv bench latency $M --input-len 512 --output-len 128 --num-iters 5 $K 2>/dev/null | grep -E "^\{" | tee -a $OUT/ours.jsonl
  timeout 90 /tmp/sv bench throughput $M --num-prompts 256 --input-len 512 --output-len 128 $K 2>/dev/null | grep -E "^\{" | python3 -c "import json,sys; d=json.loads(sys.stdin.read()); print('W2', d['output_tokens_per_s'])"
done
t "done"
