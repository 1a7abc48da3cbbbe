#!/bin/bash
# H200, same lease as run14c (the peer unpacked in /root/site): vLLM serve (vLLM 0.26 no longer takes
# --disable-log-requests, which ended run14c's attempt) and vLLM's bench serve against it.
export PYTHONUNBUFFERED=1 PYTHONPATH=/root/site VLLM_USE_FLASHINFER_SAMPLER=0
mkdir -p /tmp/l8 && cp benchmarks/configs/llama3-8b/config.json .gpu/gpt2/* /tmp/l8/
T0=$(date +%s%N); timeout 280 python3 -m vllm.entrypoints.cli.main serve /tmp/l8 --load-format dummy --dtype bfloat16 --port 18001 --served-model-name llama > $OUT/vllm-serve.log 2>&1 & V=$!
for i in $(seq 2000); do curl -sf localhost:18001/health >/dev/null && break; sleep 0.1; done
echo "vLLM ready after $(( ($(date +%s%N) - T0) / 1000000 )) ms"
timeout 120 python3 -m vllm.entrypoints.cli.main bench serve --backend openai --model llama --tokenizer /tmp/l8 --dataset-name random --random-input-len 512 --random-output-len 128 --num-prompts 500 --ignore-eos --save-result --result-dir $OUT --base-url http://127.0.0.1:18001 --result-filename vllm-http.json > $OUT/vllm-http.log 2>&1
grep -E "Successful|Failed|Benchmark duration|Request throughput|Output token throughput|Mean TTFT|Median TTFT|Mean TPOT|Median TPOT" $OUT/vllm-http.log
kill $V
