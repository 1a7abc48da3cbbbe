#!/bin/bash
# H200: where W3's and W2's GPU time goes — every step bracketed by events (bench's gpu_ms_by_step,
# gpu_idle_ms) — with decode graphs and with --enforce-eager; check-gpu after the long-block-list fix;
# split_qkv_rows for every token count (SWIFT_VLLM_SPLIT_QKV_ROWS_MIN=1) against split_qkv_vec below 64.
export PYTHONUNBUFFERED=1
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; M="--model benchmarks/configs/llama3-8b --load-format dummy"
S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
t "check-gpu"
timeout 150 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K > $OUT/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|greedy|all passed|failure|rror" $OUT/check-gpu.log | head -10
for mode in graphs eager; do
  E=""; [ $mode = eager ] && E="--enforce-eager"
  t "W3 / W2 ($mode)"
  timeout 60 /tmp/sv bench throughput $M --lengths-file .gpu/w3_lengths.json --num-prompts 500 $E $K 2>&1 | grep -E "^\{|rror" | tee -a $OUT/w-$mode.jsonl
  timeout 60 /tmp/sv bench throughput $M --num-prompts 256 --input-len 512 --output-len 128 $E $K 2>&1 | grep -E "^\{|rror" | tee -a $OUT/w-$mode.jsonl
done
t "split_qkv: rows from 64 tokens (default), then from 1"
timeout 60 /tmp/sv check-gpu $K --skip-ops $M --profile-decode 1 8 32 > $OUT/profile.log 2>&1; grep -E "^decode|split_qkv" $OUT/profile.log | head -8
SWIFT_VLLM_SPLIT_QKV_ROWS_MIN=1 timeout 60 /tmp/sv check-gpu $K --skip-ops $M --profile-decode 1 8 32 > $OUT/profile-rows.log 2>&1; grep -E "^decode|split_qkv" $OUT/profile-rows.log | head -8
t "bench-linear"
timeout 60 /tmp/sv check-gpu $K --skip-ops --bench-linear > $OUT/bench-linear.log 2>&1; tail -20 $OUT/bench-linear.log
t "done"
