#!/bin/bash
# H200: after one online-softmax helper (mma.cuh) and one warp write-out (decode_attention_merge.cuh) serve the
# prefill and both decode attention kernels — every op against the CPU (stories260K greedy too), then W2.
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; M="--model benchmarks/configs/llama3-8b --load-format dummy"
timeout 150 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K > $OUT/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|greedy|all passed|failure|rror" $OUT/check-gpu.log | head -6
grep -cE " pass$" $OUT/check-gpu.log
SWIFT_VLLM_DECODE_ATTENTION=lanes timeout 150 /tmp/sv check-gpu $K > $OUT/check-gpu-lanes.log 2>&1; echo "check-gpu (lanes) exit $?"
grep -E "FAIL|all passed" $OUT/check-gpu-lanes.log | head -3
timeout 60 /tmp/sv bench throughput $M --num-prompts 256 --input-len 512 --output-len 128 $K 2>&1 | grep -E "^\{|rror" | python3 -c "import json,sys; d=json.loads(sys.stdin.read()); print('W2', d['output_tokens_per_s'])"
