#!/bin/bash
# Call B (right after A): every op again (cuBLASLt preferences changed), stories260K greedy vs CPU,
# the qwen2.5-0.5b shape through the same variants, and W1 latency on A's llama folder (no regression check).
export PYTHONUNBUFFERED=1
cd "$(dirname "$0")"; K="--kernel-cache-dir /tmp/kc"
[ -x /tmp/sv ] || { xz -dc sv.xz > /tmp/sv && chmod +x /tmp/sv; }
S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
t "check-gpu ops + stories260K greedy"
timeout 200 /tmp/sv check-gpu $K --greedy-model stories260K > $OUT/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "linear|greedy|passed|FAIL|failure" $OUT/check-gpu.log
t "save qwen2.5-0.5b"
python3 hf_peer.py --shape qwen2.5-0.5b --only none --save /tmp/qwen 2>&1 | grep -v Warning | tail -2
python3 gpu_reference.py /tmp/qwen /tmp/qr --variants bf16,bf16-noreduce,bf16-lt,bf16-efficient,bf16-batch2,bf16-incremental,bf16-flip,f32 2>&1 | grep -E '^\{' | tee $OUT/qwen-variants.jsonl
R=""; for v in bf16 bf16-noreduce bf16-lt bf16-efficient bf16-batch2 bf16-incremental f32; do R="$R --reference /tmp/qr/$v/reference.json"; done
t "ours bf16"
timeout 100 /tmp/sv check-gpu $K --skip-ops --model /tmp/qwen $R 2>&1 | grep -v "^kernel"
t "ours f32"
timeout 100 /tmp/sv check-gpu $K --skip-ops --model /tmp/qwen --dtype float32 --reference /tmp/qr/f32/reference.json 2>&1 | grep -E "teacher|chunks|greedy|check-gpu"
if [ -d /tmp/llama ]; then
  t "W1 latency, llama3-8b shape (A's folder)"
  timeout 120 /tmp/sv bench latency --model /tmp/llama --input-len 512 --output-len 128 --num-iters 3 $K 2>&1 | grep -E "^\{|Error"
fi
t "done"
