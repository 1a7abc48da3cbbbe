#!/bin/bash
# H200: decode attention on tensor cores (decode_attention_mma.cu, SWIFT_VLLM_DECODE_ATTENTION=mma) against
# decode_attention.cu: every op against the CPU with it, decode profiles at batch 1 … 256, then W1 / W3 / W2.
export PYTHONUNBUFFERED=1
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; M="--model benchmarks/configs/llama3-8b --load-format dummy"
S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
t "check-gpu (mma)"
SWIFT_VLLM_DECODE_ATTENTION=mma timeout 150 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K > $OUT/check-gpu-mma.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|greedy|all passed|failure|rror" $OUT/check-gpu-mma.log | head -10
grep -E "^pagedAttention +decode" $OUT/check-gpu-mma.log | head -30
t "decode profiles: mma, then lanes"
SWIFT_VLLM_DECODE_ATTENTION=mma timeout 90 /tmp/sv check-gpu $K --skip-ops $M --profile-decode 1 8 32 64 256 > $OUT/profile-mma.log 2>&1; grep -E "^decode|decode_attention" $OUT/profile-mma.log | head -12
timeout 90 /tmp/sv check-gpu $K --skip-ops $M --profile-decode 1 8 32 64 256 > $OUT/profile-lanes.log 2>&1; grep -E "^decode|decode_attention" $OUT/profile-lanes.log | head -12
t "W1 / W3 / W2 (mma)"
export SWIFT_VLLM_DECODE_ATTENTION=mma
timeout 90 /tmp/sv bench latency $M --input-len 512 --output-len 128 --num-iters 5 $K 2>&1 | grep -E "^\{|rror" | tee -a $OUT/w-mma.jsonl
timeout 60 /tmp/sv bench throughput $M --lengths-file .gpu/w3_lengths.json --num-prompts 500 $K 2>&1 | grep -E "^\{|rror" | tee -a $OUT/w-mma.jsonl
timeout 60 /tmp/sv bench throughput $M --num-prompts 256 --input-len 512 --output-len 128 $K 2>&1 | grep -E "^\{|rror" | tee -a $OUT/w-mma.jsonl
t "done"
