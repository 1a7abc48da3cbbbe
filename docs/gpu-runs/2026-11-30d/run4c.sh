#!/bin/bash
# H200 ×2, data-parallel lease 3/3 (vLLM's `bench serve` client unpacked by run4a/b): `swift-vllm serve` of the
# Llama-3-8B shape (dummy weights, GPT-2's tokenizer for the client) on one GPU (-dp 1), as two replicas (-dp 2)
# and as one engine over both GPUs (-tp 2), each under vLLM 0.26.0's `bench serve`: random 500 × (512 → 128), rate inf.
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
export PYTHONUNBUFFERED=1 PYTHONPATH=/root/site VLLM_USE_FLASHINFER_SAMPLER=0
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; L=/tmp/logs; mkdir -p $L
mkdir -p /tmp/l8 && cp benchmarks/configs/llama3-8b/config.json .gpu/gpt2/* /tmp/l8/
BENCH="python3 -m vllm.entrypoints.cli.main bench serve --backend openai --model llama --tokenizer /tmp/l8 --dataset-name random --random-input-len 512 --random-output-len 128 --num-prompts 500 --ignore-eos --save-result --result-dir $L"
for mode in "dp1" "dp2 -dp 2" "tp2 -tp 2"; do
  set -- $mode; name=$1; shift
  T0=$(date +%s%N); /tmp/sv serve /tmp/l8 --load-format dummy --port 18000 --served-model-name llama --disable-log-requests "$@" $K > $L/serve-$name.log 2>&1 & P=$!
  for i in $(seq 600); do curl -sf localhost:18000/health >/dev/null && break; sleep 0.05; done
  echo "$name: ready after $(( ($(date +%s%N) - T0) / 1000000 )) ms"
  timeout 150 $BENCH --base-url http://127.0.0.1:18000 --result-filename $name.json > $L/bench-$name.log 2>&1
  grep -E "Successful|Failed|Benchmark duration|Request throughput|Output token throughput|Mean TTFT|Median TTFT|Mean TPOT" $L/bench-$name.log
  curl -s localhost:18000/metrics | grep -E '^vllm:prefix_cache_queries_total' | head -2
  kill $P; wait $P 2>/dev/null
done
tar -C /tmp -czf $OUT/logs.tar.gz logs
