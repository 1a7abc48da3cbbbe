#!/bin/bash
# H200, session 18 run8: W3 of the Llama-3-8B shape, GPTQ-int4 and bf16, on the sources of 83e6a9e (linear_int4_decode;
# run5's W3 compiled the wgmma kernels inside its measured run), each after a warm-up run of its own.
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; L=/tmp/logs; mkdir -p $L; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
w3() {  # name, flags
  local n=$1; shift
  timeout 100 /tmp/sv bench throughput "$@" --load-format dummy --lengths-file .gpu/w3_lengths.json --num-prompts 500 $K 2>$L/$n-w3.log | grep -E "^\{" > $L/$n-w3.json
  python3 -c "import json; d=json.load(open('$L/$n-w3.json')); print('$n W3 req/s', round(d['requests_per_s'],2), {k: round(v['ms']/v['steps'],3) for k, v in d['gpu_ms_by_step'].items()})" || tail -3 $L/$n-w3.log
}
B=benchmarks/configs/llama3-8b; I=benchmarks/configs/llama3-8b-gptq-int4
w3 warm-int4 --model $I
w3 int4 --model $I
w3 int4-again --model $I
w3 warm-bf16 --model $B
w3 bf16 --model $B
tar czf $OUT/logs.tgz -C $L .
t done
