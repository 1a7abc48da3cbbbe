#!/bin/bash
# Call A: llama3-8b shape. transformers' variants (one load), then ours: bf16 (decode steps and one
# prefill) against all of them, f32 against transformers f32.
export PYTHONUNBUFFERED=1
cd "$(dirname "$0")"; K="--kernel-cache-dir /tmp/kc"
xz -dc sv.xz > /tmp/sv && chmod +x /tmp/sv
S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
t "save llama3-8b"
python3 hf_peer.py --shape llama3-8b --only none --save /tmp/llama 2>&1 | grep -v Warning | tail -1
t "transformers variants"
python3 gpu_reference.py /tmp/llama /tmp/lr --variants bf16,bf16-noreduce,bf16-lt,bf16-efficient,bf16-batch2,bf16-incremental,bf16-flip,f32 2>&1 | grep -vE "Warn|Loading" | tee $OUT/llama-variants.jsonl
R=""; for v in bf16 bf16-lt bf16-efficient bf16-batch2 bf16-incremental bf16-flip f32; do [ -f /tmp/lr/$v/reference.json ] && R="$R --reference /tmp/lr/$v/reference.json"; done
t "ours bf16"
timeout 150 /tmp/sv check-gpu $K --skip-ops --model /tmp/llama $R --show-matmul-plans 2>&1 | tee $OUT/llama-ours.log | grep -v "^matmul\|^kernel"
grep "^matmul" $OUT/llama-ours.log | head -30
t "ours f32"
timeout 150 /tmp/sv check-gpu $K --skip-ops --model /tmp/llama --dtype float32 --reference /tmp/lr/f32/reference.json --reference /tmp/lr/bf16/reference.json 2>&1 | grep -v "^kernel" | tee $OUT/llama-ours-f32.log
t "done"
