#!/bin/bash
# H200: split_qkv_vec with 16-byte cos/sin loads (was 16 scalar loads a thread) — no gain (6.95 vs 7.1 ms a
# prefill step), so the change was not kept. Every op (splitQKV among
# them) against the CPU, the prefill step's profile, W2.
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; M="--model benchmarks/configs/llama3-8b --load-format dummy"
timeout 100 /tmp/sv check-gpu $K > $OUT/check-gpu.log 2>&1; echo "check-gpu exit $?"; grep -E "FAIL|splitQKV|all passed" $OUT/check-gpu.log | head -8
timeout 60 /tmp/sv check-gpu $K --skip-ops $M --profile-decode 256 > $OUT/profile.log 2>&1; grep -E "^prefill|split_qkv" $OUT/profile.log | head -4
timeout 40 /tmp/sv bench throughput $M --num-prompts 256 --input-len 512 --output-len 128 $K 2>&1 | grep -E "^\{|rror" | tee $OUT/w2.jsonl
