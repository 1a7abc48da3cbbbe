#!/bin/bash
# H200, structured outputs lease 3/3 (the vLLM 0.26.0 peer unpacked in /root/site by run16a/b): check-gpu
# (applyTokenBitmask included); stories260K structured outputs GPU f32 vs CPU; offline 100 × 512→128 free
# vs the Poem schema; the grammar's host cost on this host; then HTTP, 100 concurrent completions free vs
# structured_outputs.json (scripts/structured_bench.py) against swift-vllm, then against vLLM.
export PYTHONUNBUFFERED=1
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; M="--model benchmarks/configs/llama3-8b --load-format dummy"
S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
mkdir -p /tmp/l8 && cp benchmarks/configs/llama3-8b/config.json .gpu/gpt2/* /tmp/l8/
t "check-gpu"
timeout 150 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K > $OUT/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|applyTokenBitmask|greedy|all passed|failure|rror" $OUT/check-gpu.log | head -10
t "stories260K structured outputs: GPU f32 vs CPU"
timeout 60 /tmp/sv generate --model .gpu/stories260K --prompts .gpu/structured-prompts.jsonl --output $OUT/structured-gpu.jsonl --device cuda --dtype float32 $K 2>/dev/null
python3 -c "import json; a=[json.loads(l) for l in open('$OUT/structured-gpu.jsonl')]; b=[json.loads(l) for l in open('.gpu/structured-cpu.jsonl')]; print('token lists equal in', sum(x['outputs'][0]['token_ids']==y['outputs'][0]['token_ids'] for x,y in zip(a,b)), 'of', len(b))"
t "offline 100 x 512->128: free, then Poem schema"
timeout 60 /tmp/sv bench throughput $M --num-prompts 100 --input-len 512 --output-len 128 $K 2>&1 | grep -E "^\{|rror" | tee $OUT/offline.jsonl
timeout 60 /tmp/sv bench throughput $M --num-prompts 100 --input-len 512 --output-len 128 --structured-output-json benchmarks/schemas/poem.json --tokenizer /tmp/l8 $K 2>&1 | grep -E "^\{|rror" | tee -a $OUT/offline.jsonl
timeout 60 /tmp/sv bench grammar --tokenizer /tmp/l8 --batch 256 2>&1 | tee -a $OUT/offline.jsonl
t "HTTP: swift-vllm"
/tmp/sv serve /tmp/l8 --load-format dummy --port 18000 --served-model-name llama --disable-log-requests $K > $OUT/ours-serve.log 2>&1 & P=$!
for i in $(seq 600); do curl -sf localhost:18000/health >/dev/null && break; sleep 0.05; done
export PYTHONPATH=/root/site VLLM_USE_FLASHINFER_SAMPLER=0
for mode in free structured; do timeout 120 python3 scripts/structured_bench.py --base-url http://127.0.0.1:18000 --model llama --mode $mode 2>&1 | tail -1 | tee -a $OUT/http.jsonl; done
kill $P; wait $P 2>/dev/null
t "HTTP: vLLM 0.26.0"
T0=$(date +%s%N); timeout 400 python3 -m vllm.entrypoints.cli.main serve /tmp/l8 --load-format dummy --dtype bfloat16 --port 18001 --served-model-name llama > $OUT/vllm-serve.log 2>&1 & V=$!
for i in $(seq 1800); do curl -sf localhost:18001/health >/dev/null && break; sleep 0.1; done
echo "vLLM ready after $(( ($(date +%s%N) - T0) / 1000000 )) ms"
for mode in free structured; do timeout 150 python3 scripts/structured_bench.py --base-url http://127.0.0.1:18001 --model llama --mode $mode 2>&1 | tail -1 | tee -a $OUT/http.jsonl; done
kill $V; wait $V 2>/dev/null
t "done"
