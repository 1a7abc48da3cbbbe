#!/bin/bash
# H200, first call of 2026-11-30: every op (new: linear.cu, split+rotary, one-pass norms, decode
# attention, dummy fill), stories260K GPU = CPU, then the Llama-3-8B shape (--load-format dummy):
# linears by both paths, decode profile with and without the new attention, W1 / W2 / W3.
# Run from the repo root with .gpu/ carried (swift-vllm.gz, stories260K/, w3_lengths.json).
export PYTHONUNBUFFERED=1
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; M="--model benchmarks/configs/llama3-8b --load-format dummy"
S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv,noheader
t "check-gpu ops + stories260K greedy"
timeout 150 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K > $OUT/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|greedy|passed|failure|error" $OUT/check-gpu.log | head -40
t "bench-linear"
timeout 60 /tmp/sv check-gpu $K --skip-ops --bench-linear 2>&1 | grep bench-linear | tee $OUT/bench-linear.log
t "decode profile (new attention), then old"
timeout 90 /tmp/sv check-gpu $K --skip-ops $M --profile-decode 1 64 256 > $OUT/profile.log 2>&1
grep -vE "^kernel" $OUT/profile.log | grep -E "decode|paged|attention|linear|norm|split|loaded" | head -60
SWIFT_VLLM_DECODE_ATTENTION=0 timeout 70 /tmp/sv check-gpu $K --skip-ops $M --profile-decode 1 64 256 > $OUT/profile-old-attention.log 2>&1
grep -E "decode step|paged" $OUT/profile-old-attention.log | head -20
t "W1"
timeout 60 /tmp/sv bench latency $M --input-len 512 --output-len 128 --num-iters 3 $K 2>&1 | grep -E "^\{|Error|rror:" | tee $OUT/w1.json
t "W2"
timeout 70 /tmp/sv bench throughput $M --num-prompts 256 --input-len 512 --output-len 128 $K 2>&1 | grep -E "^\{|rror" | tee $OUT/w2.json
t "W3"
timeout 70 /tmp/sv bench throughput $M --lengths-file .gpu/w3_lengths.json --num-prompts 500 $K 2>&1 | grep -E "^\{|rror" | tee $OUT/w3.json
t "done"
