#!/bin/bash
# H200, session 17 lease 6, last call: #12's table with swift-vllm (this session's binary: SiLU·mul and residual adds
# folded into the decode linears; the queue-time metric fixed) and vLLM 0.26.0 in the same lease. Llama-3-8B shape, bf16,
# random weights. W1 / W2 / W3 offline (bench latency / throughput; vllm_peer.py); HTTP with vLLM's own bench serve
# (random 500 × 512 → 128, rate inf, --save-detailed) against each server after a 64-request warm-up (kernels compile
# and decode graphs record at first use: run4). check-gpu ran on these kernels in run3 (the rest is host code).
cat .gpu/p1/a00 .gpu/p2/a01 .gpu/p3/b00 .gpu/p4/b01 > /root/v.tar.xz
sha256sum /root/v.tar.xz | cut -c1-64; grep tar.xz .gpu/p4/SHA256SUMS | cut -c1-64
mkdir -p /root/site && tar -C /root/site -xJf /root/v.tar.xz && rm /root/v.tar.xz
export PYTHONUNBUFFERED=1 PYTHONPATH=/root/site VLLM_USE_FLASHINFER_SAMPLER=0
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; M="--model benchmarks/configs/llama3-8b --load-format dummy"; L=/tmp/logs; mkdir -p $L
S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
mkdir -p /tmp/l8 && cp benchmarks/configs/llama3-8b/config.json .gpu/gpt2/* /tmp/l8/
VB="python3 -m vllm.entrypoints.cli.main bench serve --backend openai --model llama --tokenizer /tmp/l8 --dataset-name random --random-input-len 512 --ignore-eos"
http() {  # name, port
  timeout 100 $VB --base-url http://127.0.0.1:$2 --random-output-len 16 --num-prompts 64 --seed 1 > $L/$1-warmup.log 2>&1
  timeout 150 $VB --base-url http://127.0.0.1:$2 --random-output-len 128 --num-prompts 500 --save-result --save-detailed \
    --result-dir $L --result-filename $1-http.json > $L/$1-http.log 2>&1
  grep -E "Successful|Benchmark duration|Request throughput|Output token throughput|Mean TTFT|Median TTFT|P99 TTFT|Mean TPOT|Median TPOT" $L/$1-http.log
}
t "swift-vllm W1 / W2 / W3"
timeout 90 /tmp/sv bench latency $M --input-len 512 --output-len 128 --num-iters 5 $K 2>$L/ours-w1.log | grep -E "^\{" | tee $L/ours.jsonl
timeout 90 /tmp/sv bench throughput $M --num-prompts 256 --input-len 512 --output-len 128 $K 2>$L/ours-w2.log | grep -E "^\{" | tee -a $L/ours.jsonl
timeout 90 /tmp/sv bench throughput $M --lengths-file .gpu/w3_lengths.json --num-prompts 500 $K 2>$L/ours-w3.log | grep -E "^\{" | tee -a $L/ours.jsonl
t "swift-vllm serve + vLLM's bench serve"
T0=$(date +%s%N); /tmp/sv serve /tmp/l8 --load-format dummy --port 18000 --served-model-name llama --disable-log-requests $K > $L/ours-serve.log 2>&1 & P=$!
for i in $(seq 600); do curl -sf localhost:18000/health >/dev/null && break; sleep 0.05; done
echo "swift-vllm ready after $(( ($(date +%s%N) - T0) / 1000000 )) ms"
http ours 18000
kill $P; wait $P 2>/dev/null
t "vLLM offline W1 / W2 / W3"
mkdir -p /tmp/vc && cp benchmarks/configs/llama3-8b/config.json /tmp/vc/
timeout 240 python3 .gpu/vllm_peer.py /tmp/vc > $L/vllm-offline.jsonl 2> $L/vllm-offline.log; grep -E '^\{' $L/vllm-offline.jsonl; tail -2 $L/vllm-offline.log | cut -c1-300
t "vLLM serve + its bench serve"
T0=$(date +%s%N); timeout 280 python3 -m vllm.entrypoints.cli.main serve /tmp/l8 --load-format dummy --dtype bfloat16 --port 18001 --served-model-name llama > $L/vllm-serve.log 2>&1 & V=$!
for i in $(seq 2000); do curl -sf localhost:18001/health >/dev/null && break; sleep 0.1; done
echo "vLLM ready after $(( ($(date +%s%N) - T0) / 1000000 )) ms"
http vllm 18001
kill $V; wait $V 2>/dev/null
tar czf $OUT/logs.tgz -C $L .
t done
