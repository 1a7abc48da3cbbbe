#!/bin/bash
# Final: every op; qwen2.5-0.5b before (6840c18) / after on the same weights; llama3-8b decode profile
# and W1 / W2.
export PYTHONUNBUFFERED=1
cd "$(dirname "$0")"; K="--kernel-cache-dir /tmp/kc"
xz -dc sv.xz > /tmp/sv && xz -dc sv-old.xz > /tmp/sv-old && chmod +x /tmp/sv /tmp/sv-old
S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
t "check-gpu ops + stories260K greedy"
timeout 200 /tmp/sv check-gpu $K --greedy-model stories260K > $OUT/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "pagedAttention|greedy|passed|FAIL|failure" $OUT/check-gpu.log
python3 hf_peer.py --shape qwen2.5-0.5b --only none --save /tmp/qwen 2>&1 | grep -v Warning | tail -1
python3 gpu_reference.py /tmp/qwen /tmp/qr --variants bf16,bf16-batch2,f32 2>&1 | grep -E '^\{"a"'
R="--reference /tmp/qr/bf16/reference.json --reference /tmp/qr/bf16-batch2/reference.json"
for b in sv-old sv; do
  t "$b"; timeout 100 /tmp/$b check-gpu $K --skip-ops --model /tmp/qwen $R 2>&1 | grep -E "teacher|against|chunks|greedy|check-gpu" | tee -a $OUT/qwen.log
done
python3 hf_peer.py --shape llama3-8b --only none --save /tmp/llama 2>&1 | grep -v Warning | tail -1
t "profile"
timeout 150 /tmp/sv check-gpu $K --skip-ops --model /tmp/llama --profile-decode 1 64 2>&1 | grep -v "^kernel" | tee $OUT/profile.log | grep -E "decode|paged"
t "W1 / W2"
timeout 100 /tmp/sv bench latency --model /tmp/llama --input-len 512 --output-len 128 --num-iters 3 $K 2>&1 | grep -E "^\{|Error"
timeout 200 /tmp/sv bench throughput --model /tmp/llama --num-prompts 256 --input-len 512 --output-len 128 $K 2>&1 | grep -E "^\{|Error"
t "done"
