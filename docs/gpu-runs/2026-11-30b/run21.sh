#!/bin/bash
# H200: decode_attention_mma.cu's partitions split to fill four waves (SWIFT_VLLM_MMA_SPLIT=waves) and
# cuBLASLt's algorithm for prefill-sized GEMMs chosen by timing four candidates (SWIFT_VLLM_GEMM_AUTOTUNE=1):
# the ops against the CPU with both, decode profiles, then W3 / W2 with each switch added in turn.
export PYTHONUNBUFFERED=1 SWIFT_VLLM_DECODE_ATTENTION=mma
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; M="--model benchmarks/configs/llama3-8b --load-format dummy"
S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
t "check-gpu ops (mma, waves, autotune)"
SWIFT_VLLM_MMA_SPLIT=waves SWIFT_VLLM_GEMM_AUTOTUNE=1 timeout 150 /tmp/sv check-gpu $K > $OUT/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|all passed|failure|rror" $OUT/check-gpu.log | head -10
t "decode profiles: waves, then the old split"
SWIFT_VLLM_MMA_SPLIT=waves timeout 90 /tmp/sv check-gpu $K --skip-ops $M --profile-decode 32 64 128 256 > $OUT/profile-waves.log 2>&1; grep -E "^decode|decode_attention" $OUT/profile-waves.log | head -8
timeout 90 /tmp/sv check-gpu $K --skip-ops $M --profile-decode 32 64 128 256 > $OUT/profile-mma.log 2>&1; grep -E "^decode|decode_attention" $OUT/profile-mma.log | head -8
for mode in mma autotune waves; do
  t "W3 / W2 ($mode)"
  E=""; [ $mode != mma ] && E="SWIFT_VLLM_GEMM_AUTOTUNE=1"; [ $mode = waves ] && E="$E SWIFT_VLLM_MMA_SPLIT=waves"
  env $E timeout 60 /tmp/sv bench throughput $M --lengths-file .gpu/w3_lengths.json --num-prompts 500 $K 2>&1 | grep -E "^\{|rror" | tee -a $OUT/w-$mode.jsonl
  env $E timeout 60 /tmp/sv bench throughput $M --num-prompts 256 --input-len 512 --output-len 128 $K 2>&1 | grep -E "^\{|rror" | tee -a $OUT/w-$mode.jsonl
done
t "done"
