#!/bin/bash
# clients.sh PORT SERVER (started with prefix caching off, so repeated prompts do not hit): vLLM 0.26.0's `bench serve` and `swift-vllm bench serve` against the server on PORT,
# alternately, twice each, with the same workload: random 500 × (512 → 128), GPT-2's tokenizer, rate inf; then
# the same at --max-concurrency 64. Results in /tmp/logs/SERVER-CLIENT-MODE-RUN.json (+ .log).
PORT=$1; SERVER=$2; L=/tmp/logs
COMMON="--backend openai --base-url http://127.0.0.1:$PORT --model llama --tokenizer /tmp/l8 --dataset-name random --random-input-len 512 --random-output-len 128 --num-prompts 500 --ignore-eos --save-result --result-dir $L --disable-tqdm"
# A discarded warm-up first (the server's first steps record its decode graphs), with another seed.
timeout 200 /tmp/sv bench serve $COMMON --num-prompts 200 --seed 99 --result-filename $SERVER-warmup.json > $L/$SERVER-warmup.log 2>&1
for mode in inf c64; do
  EXTRA=""; [ $mode = c64 ] && EXTRA="--max-concurrency 64"
  for run in 1 2; do
    for client in vllm swift; do
      name=$SERVER-$client-$mode-$run
      if [ $client = vllm ]; then
        timeout 200 python3 -m vllm.entrypoints.cli.main bench serve $COMMON $EXTRA --result-filename $name.json > $L/$name.log 2>&1
      else
        timeout 200 /tmp/sv bench serve $COMMON $EXTRA --result-filename $name.json > $L/$name.log 2>&1
      fi
      echo "$name exit $?: $(grep -E 'Request throughput|Output token throughput|Median TTFT|Median TPOT' $L/$name.log | awk -F: '{gsub(/ +/," ",$2); printf "%s%s;", $1, $2}')"
    done
  done
done
