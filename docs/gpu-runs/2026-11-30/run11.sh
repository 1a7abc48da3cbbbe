#!/bin/bash
# H200: async scheduling (the host a step ahead: step N+1 scheduled and launched before N is back, its
# decode inputs scattered on the device from N's sampler). Checks: every op (new: scatterSampledTokens);
# stories260K through the whole engine, f32 on the GPU, async and not, against the CPU's output (48
# requests, greedy and seeded, logprobs); then W1 / W2 / W3 async, and W3 without it.
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; M="--model benchmarks/configs/llama3-8b --load-format dummy"
S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
t "check-gpu"
timeout 150 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K > $OUT/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|greedy|all passed|failure|rror|scatter" $OUT/check-gpu.log | head -10
t "stories260K engine: GPU f32 async / sync vs CPU"
for mode in async-scheduling no-async-scheduling; do
  timeout 60 /tmp/sv generate --model .gpu/stories260K --prompts .gpu/async-prompts.jsonl --output $OUT/gpu-$mode.jsonl \
    --device cuda --dtype float32 --$mode $K 2>/dev/null
  cmp $OUT/gpu-$mode.jsonl .gpu/async-cpu.jsonl && echo "$mode: GPU f32 = CPU (48 requests)" || \
    python3 -c "import json,sys; a=[json.loads(l) for l in open('$OUT/gpu-$mode.jsonl')]; b=[json.loads(l) for l in open('.gpu/async-cpu.jsonl')]; print('$mode differs: token lists equal in', sum(x['outputs'][0]['token_ids']==y['outputs'][0]['token_ids'] for x,y in zip(a,b)), 'of', len(b))"
done
t "W1 / W2 / W3 async"
timeout 90 /tmp/sv bench latency $M --input-len 512 --output-len 128 --num-iters 5 $K 2>&1 | grep -E "^\{|rror" | tee $OUT/w.jsonl
timeout 60 /tmp/sv bench throughput $M --num-prompts 256 --input-len 512 --output-len 128 $K 2>&1 | grep -E "^\{|rror" | tee -a $OUT/w.jsonl
timeout 60 /tmp/sv bench throughput $M --lengths-file .gpu/w3_lengths.json --num-prompts 500 $K 2>&1 | grep -E "^\{|rror" | tee -a $OUT/w.jsonl
t "W3 without async scheduling"
timeout 60 /tmp/sv bench throughput $M --lengths-file .gpu/w3_lengths.json --num-prompts 500 --no-async-scheduling $K 2>&1 | grep -E "^\{|rror" | tee -a $OUT/w.jsonl
t "done"
