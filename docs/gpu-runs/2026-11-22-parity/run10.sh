#!/bin/bash
# qwen2.5-0.5b shape: the binary of 6840c18 (before the attention changes) and of a8dbfa3 (after) on
# the same weights and references; then W1 / W2 of a8dbfa3 and of HF transformers, same lease.
export PYTHONUNBUFFERED=1
cd "$(dirname "$0")"; K="--kernel-cache-dir /tmp/kc"
xz -dc sv.xz > /tmp/sv && xz -dc sv-old.xz > /tmp/sv-old && chmod +x /tmp/sv /tmp/sv-old
S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
python3 hf_peer.py --shape qwen2.5-0.5b --only none --save /tmp/qwen 2>&1 | grep -v Warning | tail -1
python3 gpu_reference.py /tmp/qwen /tmp/qr --variants bf16,bf16-lt,bf16-batch2,f32 2>&1 | grep -E '^\{"a"'
R="--reference /tmp/qr/bf16/reference.json --reference /tmp/qr/bf16-batch2/reference.json --reference /tmp/qr/f32/reference.json"
for b in sv-old sv; do
  t "$b"; timeout 100 /tmp/$b check-gpu $K --skip-ops --model /tmp/qwen $R 2>&1 | grep -E "teacher|against|chunks|greedy|check-gpu"
done
t "save llama"
python3 hf_peer.py --shape llama3-8b --only none --save /tmp/llama 2>&1 | grep -v Warning | tail -1
t "swift-vllm W1 / W2"
timeout 100 /tmp/sv bench latency --model /tmp/llama --input-len 512 --output-len 128 --num-iters 3 $K 2>&1 | grep -E "^\{|Error"
timeout 200 /tmp/sv bench throughput --model /tmp/llama --num-prompts 256 --input-len 512 --output-len 128 $K 2>&1 | grep -E "^\{|Error"
rm -rf /tmp/llama
t "HF W1 / W2"
timeout 330 python3 hf_peer.py --shape llama3-8b --only W1,W2 2>&1 | grep -v Warning | tail -6
t "done"
