#!/bin/bash
# H200, final lease 3/3 (peer unpacked by run23a/b): swift-vllm at this session's final code (decode steps as
# CUDA graphs, decode attention on tensor cores, split_qkv_rows) and vLLM 0.26.0 in the same lease,
# Llama-3-8B shape, bf16, random weights. check-gpu (ops + stories260K greedy) and 48 engine requests GPU f32
# vs CPU; W1 / W2 / W3 offline; HTTP with vLLM's `bench serve`, random 500 × (512 → 128), rate inf; then
# vLLM offline (vllm_peer.py) and vLLM serve + the same client.
export PYTHONUNBUFFERED=1
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; M="--model benchmarks/configs/llama3-8b --load-format dummy"
S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
mkdir -p /tmp/l8 && cp benchmarks/configs/llama3-8b/config.json .gpu/gpt2/* /tmp/l8/
export PYTHONPATH=/root/site VLLM_USE_FLASHINFER_SAMPLER=0
BENCH="python3 -m vllm.entrypoints.cli.main bench serve --backend openai --model llama --tokenizer /tmp/l8 --dataset-name random --random-input-len 512 --random-output-len 128 --num-prompts 500 --ignore-eos --save-result --result-dir $OUT"
t "check-gpu"
timeout 150 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K > $OUT/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|greedy|all passed|failure|rror" $OUT/check-gpu.log | head -6
timeout 60 /tmp/sv generate --model .gpu/stories260K --prompts .gpu/async-prompts.jsonl --output $OUT/gpu.jsonl --device cuda --dtype float32 $K 2>/dev/null
python3 -c "import json; a=[json.loads(l) for l in open('$OUT/gpu.jsonl')]; b=[json.loads(l) for l in open('.gpu/async-cpu.jsonl')]; print('engine f32: token lists equal in', sum(x['outputs'][0]['token_ids']==y['outputs'][0]['token_ids'] for x,y in zip(a,b)), 'of', len(b))"
t "swift-vllm W1 / W2 / W3"
timeout 90 /tmp/sv bench latency $M --input-len 512 --output-len 128 --num-iters 5 $K 2>&1 | grep -E "^\{|rror" | tee $OUT/ours.jsonl
timeout 60 /tmp/sv bench throughput $M --num-prompts 256 --input-len 512 --output-len 128 $K 2>&1 | grep -E "^\{|rror" | tee -a $OUT/ours.jsonl
timeout 60 /tmp/sv bench throughput $M --lengths-file .gpu/w3_lengths.json --num-prompts 500 $K 2>&1 | grep -E "^\{|rror" | tee -a $OUT/ours.jsonl
t "swift-vllm serve + vLLM bench serve"
T0=$(date +%s%N); /tmp/sv serve /tmp/l8 --load-format dummy --port 18000 --served-model-name llama --disable-log-requests $K > $OUT/ours-serve.log 2>&1 & P=$!
for i in $(seq 600); do curl -sf localhost:18000/health >/dev/null && break; sleep 0.05; done
echo "swift-vllm ready after $(( ($(date +%s%N) - T0) / 1000000 )) ms"
timeout 150 $BENCH --base-url http://127.0.0.1:18000 --result-filename ours-http.json > $OUT/ours-http.log 2>&1
grep -E "Successful|Failed|Benchmark duration|Request throughput|Output token throughput|Mean TTFT|Median TTFT|Mean TPOT|Median TPOT" $OUT/ours-http.log
kill $P; wait $P 2>/dev/null
t "vLLM offline W1 / W2 / W3"
mkdir -p /tmp/vc && cp benchmarks/configs/llama3-8b/config.json /tmp/vc/
timeout 240 python3 .gpu/vllm_peer.py /tmp/vc > $OUT/vllm-offline.log 2>&1; grep -E '^\{' $OUT/vllm-offline.log; tail -2 $OUT/vllm-offline.log | cut -c1-300
t "vLLM serve + bench serve"
T0=$(date +%s%N); timeout 280 python3 -m vllm.entrypoints.cli.main serve /tmp/l8 --load-format dummy --dtype bfloat16 --port 18001 --served-model-name llama > $OUT/vllm-serve.log 2>&1 & V=$!
for i in $(seq 2000); do curl -sf localhost:18001/health >/dev/null && break; sleep 0.1; done
echo "vLLM ready after $(( ($(date +%s%N) - T0) / 1000000 )) ms"
timeout 120 $BENCH --base-url http://127.0.0.1:18001 --result-filename vllm-http.json > $OUT/vllm-http.log 2>&1
grep -E "Successful|Failed|Benchmark duration|Request throughput|Output token throughput|Mean TTFT|Median TTFT|Mean TPOT|Median TPOT" $OUT/vllm-http.log
kill $V; wait $V 2>/dev/null
t "done"
