#!/bin/bash
# H200: CUDA graphs for pure decode steps (lazily recorded per batch-size / context bucket) and
# split_qkv_rows for prefills. check-gpu (ops, stories260K greedy — decode steps now graphs); 48 engine
# requests GPU f32 vs CPU; W1 / W3 / W2 with graphs and with --enforce-eager in the same call; the
# prefill profile with split_qkv_rows and with SWIFT_VLLM_SPLIT_QKV_ROWS=0.
export PYTHONUNBUFFERED=1
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
K="--kernel-cache-dir /tmp/kc"; M="--model benchmarks/configs/llama3-8b --load-format dummy"
S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
t "check-gpu"
timeout 150 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K > $OUT/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|greedy|all passed|failure|rror|CUDA graphs" $OUT/check-gpu.log | head -10
t "stories260K engine: GPU f32 vs CPU"
timeout 60 /tmp/sv generate --model .gpu/stories260K --prompts .gpu/async-prompts.jsonl --output $OUT/gpu.jsonl --device cuda --dtype float32 $K 2> $OUT/gpu-generate.log
grep -E "CUDA graphs|rror" $OUT/gpu-generate.log | head -3
python3 -c "import json; a=[json.loads(l) for l in open('$OUT/gpu.jsonl')]; b=[json.loads(l) for l in open('.gpu/async-cpu.jsonl')]; print('token lists equal in', sum(x['outputs'][0]['token_ids']==y['outputs'][0]['token_ids'] for x,y in zip(a,b)), 'of', len(b))"
for mode in graphs eager; do
  E=""; [ $mode = eager ] && E="--enforce-eager"
  t "W1 / W3 / W2 ($mode)"
  timeout 90 /tmp/sv bench latency $M --input-len 512 --output-len 128 --num-iters 5 $E $K 2>&1 | grep -E "^\{|rror|CUDA graphs" | tee -a $OUT/w-$mode.jsonl
  timeout 60 /tmp/sv bench throughput $M --lengths-file .gpu/w3_lengths.json --num-prompts 500 $E $K 2>&1 | grep -E "^\{|rror" | tee -a $OUT/w-$mode.jsonl
  timeout 60 /tmp/sv bench throughput $M --num-prompts 256 --input-len 512 --output-len 128 $E $K 2>&1 | grep -E "^\{|rror" | tee -a $OUT/w-$mode.jsonl
done
t "prefill profile: split_qkv_rows, then split_qkv_vec"
timeout 60 /tmp/sv check-gpu $K --skip-ops $M --profile-decode 256 > $OUT/profile.log 2>&1; grep -E "^prefill|split_qkv|^decode" $OUT/profile.log | head -6
SWIFT_VLLM_SPLIT_QKV_ROWS=0 timeout 60 /tmp/sv check-gpu $K --skip-ops $M --profile-decode 256 > $OUT/profile-vec.log 2>&1; grep -E "^prefill|split_qkv" $OUT/profile-vec.log | head -4
t "W3 / W2 again (graphs)"
timeout 60 /tmp/sv bench throughput $M --lengths-file .gpu/w3_lengths.json --num-prompts 500 $K 2>&1 | grep -E "^\{|rror" | tee -a $OUT/w-graphs.jsonl
timeout 60 /tmp/sv bench throughput $M --num-prompts 256 --input-len 512 --output-len 128 $K 2>&1 | grep -E "^\{|rror" | tee -a $OUT/w-graphs.jsonl
t "done"
t "decode attention profile: decode_attention.cu, then prefill_attention.cu for decodes"
timeout 60 /tmp/sv check-gpu $K --skip-ops $M --profile-decode 1 64 256 > $OUT/profile-decode.log 2>&1; grep -E "^decode|attention" $OUT/profile-decode.log | head -12
SWIFT_VLLM_DECODE_ATTENTION=prefill timeout 60 /tmp/sv check-gpu $K --skip-ops $M --profile-decode 1 64 256 > $OUT/profile-decode-prefill.log 2>&1; grep -E "^decode|attention" $OUT/profile-decode-prefill.log | head -12
t "done"
