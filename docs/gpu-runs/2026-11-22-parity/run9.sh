#!/bin/bash
# After the per-group attention kernels: every op, parity (llama3-8b bf16/f32, qwen bf16), the decode
# profile, W1 / W2, and ncu on the batch-64 attention launch again.
export PYTHONUNBUFFERED=1
cd "$(dirname "$0")"; K="--kernel-cache-dir /tmp/kc"
xz -dc sv.xz > /tmp/sv && chmod +x /tmp/sv
S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
t "check-gpu ops + stories260K greedy"
timeout 200 /tmp/sv check-gpu $K --greedy-model stories260K > $OUT/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "pagedAttention|greedy|passed|FAIL|failure" $OUT/check-gpu.log
[ -d /tmp/llama ] || python3 hf_peer.py --shape llama3-8b --only none --save /tmp/llama 2>&1 | grep -v Warning | tail -1
[ -d /tmp/lr/f32 ] || python3 gpu_reference.py /tmp/llama /tmp/lr --variants bf16,bf16-lt,f32 2>&1 | grep -E '^\{"a"'
python3 hf_peer.py --shape qwen2.5-0.5b --only none --save /tmp/qwen 2>&1 | grep -v Warning | tail -1
python3 gpu_reference.py /tmp/qwen /tmp/qr --variants bf16,f32 2>&1 | grep -E '^\{"a"'
t "parity"
timeout 150 /tmp/sv check-gpu $K --skip-ops --model /tmp/llama --reference /tmp/lr/bf16/reference.json --reference /tmp/lr/bf16-lt/reference.json 2>&1 | grep -E "teacher|against|chunks|greedy"
timeout 150 /tmp/sv check-gpu $K --skip-ops --model /tmp/llama --dtype float32 --reference /tmp/lr/f32/reference.json 2>&1 | grep -E "teacher|chunks|check-gpu"
timeout 100 /tmp/sv check-gpu $K --skip-ops --model /tmp/qwen --reference /tmp/qr/bf16/reference.json 2>&1 | grep -E "teacher|chunks|greedy|check-gpu"
t "profile"
timeout 150 /tmp/sv check-gpu $K --skip-ops --model /tmp/llama --profile-decode 1 64 2>&1 | grep -v "^kernel" | tee $OUT/profile.log | grep -E "decode|paged|linear N 28672"
t "W1 / W2"
timeout 100 /tmp/sv bench latency --model /tmp/llama --input-len 512 --output-len 128 --num-iters 3 $K 2>&1 | grep -E "^\{|Error"
timeout 200 /tmp/sv bench throughput --model /tmp/llama --num-prompts 256 --input-len 512 --output-len 128 $K 2>&1 | grep -E "^\{|Error"
t "ncu"
NCU=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu | head -1)
timeout 150 $NCU --kernel-name regex:paged_attention_bf16 --launch-skip 2120 --launch-count 1 --section SpeedOfLight \
  --section Occupancy --section LaunchStats --section MemoryWorkloadAnalysis \
  /tmp/sv check-gpu $K --skip-ops --model /tmp/llama --profile-decode 64 > $OUT/ncu.txt 2>&1
grep -E "Duration|Registers Per|Achieved Occupancy|Memory Throughput|Local Memory Spilling Requests|DRAM Throughput" $OUT/ncu.txt
t "done"
