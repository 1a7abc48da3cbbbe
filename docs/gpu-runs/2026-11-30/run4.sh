#!/bin/bash
# H200, fourth call: every op (new: vectorized silu_and_mul and splitQKV), stories260K GPU = CPU; the final
# W1 / W2 / W3 and profile; then the Llama-3-8B shape against transformers (weights saved by hf_peer.py):
# transformers' own bf16 cuBLAS → cuBLASLt distance, ours in bf16 against both, ours in f32 against f32.
export PYTHONUNBUFFERED=1
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; M="--model benchmarks/configs/llama3-8b --load-format dummy"
S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
t "check-gpu ops + stories260K greedy"
timeout 120 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K > $OUT/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|greedy|all passed|failure|rror" $OUT/check-gpu.log | head -20
t "W1 / W2 / W3"
timeout 60 /tmp/sv bench latency $M --input-len 512 --output-len 128 --num-iters 5 $K 2>&1 | grep -E "^\{|rror" | tee $OUT/w.jsonl
timeout 60 /tmp/sv bench throughput $M --num-prompts 256 --input-len 512 --output-len 128 $K 2>&1 | grep -E "^\{|rror" | tee -a $OUT/w.jsonl
timeout 60 /tmp/sv bench throughput $M --lengths-file .gpu/w3_lengths.json --num-prompts 500 $K 2>&1 | grep -E "^\{|rror" | tee -a $OUT/w.jsonl
t "profile"
timeout 60 /tmp/sv check-gpu $K --skip-ops $M --profile-decode 1 256 > $OUT/profile.log 2>&1
grep -E "^prefill|^decode|silu|split" $OUT/profile.log | head -12
t "llama3-8b: weights and transformers' references"
(python3 .gpu/hf_peer.py --shape llama3-8b --only none --save /tmp/llama && \
 timeout 200 python3 .gpu/gpu_reference.py /tmp/llama /tmp/lr --variants bf16,bf16-lt,f32) > $OUT/llama-ref.log 2>&1
grep -E '^\{"a"' $OUT/llama-ref.log; tail -1 $OUT/llama-ref.log
t "ours bf16, then f32"
timeout 90 /tmp/sv check-gpu $K --skip-ops --model /tmp/llama --reference /tmp/lr/bf16/reference.json \
  --reference /tmp/lr/bf16-lt/reference.json 2>&1 | grep -vE "^kernel" | tee $OUT/llama-bf16.log | grep -E "teacher|against|greedy"
timeout 90 /tmp/sv check-gpu $K --skip-ops --model /tmp/llama --dtype float32 --reference /tmp/lr/f32/reference.json 2>&1 \
  | grep -vE "^kernel" | tee $OUT/llama-f32.log | grep -E "teacher|against|greedy"
t "done"
