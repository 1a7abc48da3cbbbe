#!/bin/bash
# H200: programmatic dependent launch with an early trigger (every kernel, once past its wait, lets the
# next one launch). Checks as run12; then W1 / W2 / W3, and W2 / W3 again.
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; M="--model benchmarks/configs/llama3-8b --load-format dummy"
S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
t "check-gpu"
timeout 150 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K > $OUT/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|greedy|all passed|failure|rror" $OUT/check-gpu.log | head -10
t "stories260K engine: GPU f32 vs CPU"
timeout 60 /tmp/sv generate --model .gpu/stories260K --prompts .gpu/async-prompts.jsonl --output $OUT/gpu.jsonl --device cuda --dtype float32 $K 2>/dev/null
python3 -c "import json; a=[json.loads(l) for l in open('$OUT/gpu.jsonl')]; b=[json.loads(l) for l in open('.gpu/async-cpu.jsonl')]; print('token lists equal in', sum(x['outputs'][0]['token_ids']==y['outputs'][0]['token_ids'] for x,y in zip(a,b)), 'of', len(b))"
t "W1 / W2 / W3, PDL"
timeout 90 /tmp/sv bench latency $M --input-len 512 --output-len 128 --num-iters 5 $K 2>&1 | grep -E "^\{|rror" | tee $OUT/w.jsonl
timeout 60 /tmp/sv bench throughput $M --num-prompts 256 --input-len 512 --output-len 128 $K 2>&1 | grep -E "^\{|rror" | tee -a $OUT/w.jsonl
timeout 60 /tmp/sv bench throughput $M --lengths-file .gpu/w3_lengths.json --num-prompts 500 $K 2>&1 | grep -E "^\{|rror" | tee -a $OUT/w.jsonl
t "W2 again"
timeout 60 /tmp/sv bench throughput $M --num-prompts 256 --input-len 512 --output-len 128 $K 2>&1 | grep -E "^\{|rror" | tee -a $OUT/w.jsonl
timeout 60 /tmp/sv bench throughput $M --lengths-file .gpu/w3_lengths.json --num-prompts 500 $K 2>&1 | grep -E "^\{|rror" | tee -a $OUT/w.jsonl
t "done"
