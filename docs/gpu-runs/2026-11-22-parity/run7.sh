#!/bin/bash
# After the decode-attention change: every op again, parity of the 8B shape (bf16 and f32) against
# transformers, the decode profile, and W1 / W2 on the same folder.
export PYTHONUNBUFFERED=1
cd "$(dirname "$0")"; K="--kernel-cache-dir /tmp/kc"
xz -dc sv.xz > /tmp/sv && chmod +x /tmp/sv
S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
t "check-gpu ops + stories260K greedy"
timeout 200 /tmp/sv check-gpu $K --greedy-model stories260K > $OUT/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "pagedAttention|greedy|passed|FAIL|failure" $OUT/check-gpu.log
[ -d /tmp/llama ] || python3 hf_peer.py --shape llama3-8b --only none --save /tmp/llama 2>&1 | grep -v Warning | tail -1
[ -d /tmp/lr/f32 ] || python3 gpu_reference.py /tmp/llama /tmp/lr --variants bf16,bf16-lt,f32 2>&1 | grep -E '^\{"a"'
t "parity bf16 / f32"
timeout 150 /tmp/sv check-gpu $K --skip-ops --model /tmp/llama --reference /tmp/lr/bf16/reference.json --reference /tmp/lr/bf16-lt/reference.json 2>&1 | grep -E "teacher|against|chunks|greedy"
timeout 150 /tmp/sv check-gpu $K --skip-ops --model /tmp/llama --dtype float32 --reference /tmp/lr/f32/reference.json 2>&1 | grep -E "teacher|chunks|check-gpu"
t "profile"
timeout 150 /tmp/sv check-gpu $K --skip-ops --model /tmp/llama --profile-decode 1 64 2>&1 | grep -v "^kernel" | tee $OUT/profile.log | grep -E "decode|paged|linear N 28672"
t "W1 / W2"
timeout 100 /tmp/sv bench latency --model /tmp/llama --input-len 512 --output-len 128 --num-iters 3 $K 2>&1 | grep -E "^\{|Error"
timeout 200 /tmp/sv bench throughput --model /tmp/llama --num-prompts 256 --input-len 512 --output-len 128 $K 2>&1 | grep -E "^\{|Error"
t "done"
