#!/bin/bash
# H200, same lease after run1b/c: is the TTFT gap at rate inf the clients' own load? Both clients against
# `swift-vllm serve` (prefix caching off) at a rate the Python client keeps up with (300 × (512 → 128) at 20 req/s,
# Poisson, seed 0), alternately, twice each; then both at rate inf once more, each client's CPU time beside its wall time.
export PYTHONUNBUFFERED=1 PYTHONPATH=/root/site VLLM_USE_FLASHINFER_SAMPLER=0
L=/tmp/logs; rm -rf $L; mkdir -p $L
/tmp/sv serve /tmp/l8 --load-format dummy --port 18000 --served-model-name llama --disable-log-requests --no-enable-prefix-caching --kernel-cache-dir /tmp/kc > $L/serve-ours.log 2>&1 & P=$!
for i in $(seq 1200); do curl -sf localhost:18000/health >/dev/null && break; sleep 0.05; done
COMMON="--backend openai --base-url http://127.0.0.1:18000 --model llama --tokenizer /tmp/l8 --dataset-name random --random-input-len 512 --random-output-len 128 --ignore-eos --save-result --result-dir $L --disable-tqdm"
/tmp/sv bench serve $COMMON --num-prompts 200 --seed 99 --result-filename warmup.json > $L/warmup.log 2>&1
summary() { grep -E 'Request throughput|Output token throughput|Median TTFT|Median TPOT|Median ITL' $1 | awk -F: '{gsub(/ +/," ",$2); printf "%s%s;", $1, $2}'; }
for run in 1 2; do
  timeout 200 python3 -m vllm.entrypoints.cli.main bench serve $COMMON --num-prompts 300 --request-rate 20 --result-filename vllm-r20-$run.json > $L/vllm-r20-$run.log 2>&1
  echo "vllm-r20-$run: $(summary $L/vllm-r20-$run.log)"
  timeout 200 /tmp/sv bench serve $COMMON --num-prompts 300 --request-rate 20 --result-filename swift-r20-$run.json > $L/swift-r20-$run.log 2>&1
  echo "swift-r20-$run: $(summary $L/swift-r20-$run.log)"
done
for client in vllm swift; do
  if [ $client = vllm ]; then CMD="python3 -m vllm.entrypoints.cli.main bench serve"; else CMD="/tmp/sv bench serve"; fi
  ( time timeout 200 $CMD $COMMON --num-prompts 500 --seed 5 --result-filename $client-inf-cpu.json > $L/$client-inf-cpu.log 2>&1 ) 2> $L/$client-inf-time.txt
  echo "$client-inf (seed 5): $(summary $L/$client-inf-cpu.log) time: $(tr '\n' ' ' < $L/$client-inf-time.txt)"
done
kill $P; wait $P 2>/dev/null
tar -C /tmp -czf $OUT/logs-run2.tar.gz logs
