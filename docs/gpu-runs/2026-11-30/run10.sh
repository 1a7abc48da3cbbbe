#!/bin/bash
# H200: where W3's and W2's GPU time goes, op by op over the whole run (bench throughput --profile), and
# decode steps at the batch sizes W3 runs most.
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; M="--model benchmarks/configs/llama3-8b --load-format dummy"
timeout 90 /tmp/sv bench throughput $M --lengths-file .gpu/w3_lengths.json --num-prompts 500 --profile $K > $OUT/w3-profile.log 2>&1
grep -vE "^kernel|^INFO" $OUT/w3-profile.log | head -40
timeout 90 /tmp/sv bench throughput $M --num-prompts 256 --input-len 512 --output-len 128 --profile $K > $OUT/w2-profile.log 2>&1
grep -vE "^kernel|^INFO" $OUT/w2-profile.log | head -30
timeout 90 /tmp/sv check-gpu $K --skip-ops $M --profile-decode 32 64 128 > $OUT/profile.log 2>&1
grep -vE "^kernel" $OUT/profile.log | grep -A12 "^decode"
