#!/bin/bash
# H200, session 16 run2: decode linears prefetch the head of their weight into L2 before waiting for their input
# (prefetch_l2_head in linear_small / linear_int4_small; prefetch_l2 before cuBLASLt at 9-64 tokens). One binary,
# SWIFT_VLLM_L2_PREFETCH_MB 0 (off) against 8 / 16 / 32: W1 bf16 and GPTQ-int4, W3 bf16; then check-gpu.
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; L=/tmp/logs; mkdir -p $L; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
w1() {  # name, model
  timeout 100 /tmp/sv bench latency --model benchmarks/configs/$2 --load-format dummy --input-len 512 --output-len 128 --num-iters 5 $K 2>$L/$1-w1.log | grep -E "^\{" > $L/$1-w1.json
  python3 -c "import json; d=json.load(open('$L/$1-w1.json')); print('$1 W1 TTFT', round(d['ttft_ms_median'],2), 'TPOT', round(d['tpot_ms_median'],3))" || tail -3 $L/$1-w1.log
}
w3() {
  timeout 100 /tmp/sv bench throughput --model benchmarks/configs/llama3-8b --load-format dummy --lengths-file .gpu/w3_lengths.json --num-prompts 500 $K 2>$L/$1-w3.log | grep -E "^\{" > $L/$1-w3.json
  python3 -c "import json; d=json.load(open('$L/$1-w3.json')); print('$1 W3 req/s', round(d['requests_per_s'],2), {k: round(v['ms']/v['steps'],3) for k, v in d['gpu_ms_by_step'].items()})" || tail -3 $L/$1-w3.log
}
t W1
w1 warm llama3-8b
for mb in 0 16 8 32; do SWIFT_VLLM_L2_PREFETCH_MB=$mb w1 bf16-$mb llama3-8b; done
for mb in 0 16 32; do SWIFT_VLLM_L2_PREFETCH_MB=$mb w1 int4-$mb llama3-8b-gptq-int4; done
t W3
for mb in 0 16; do SWIFT_VLLM_L2_PREFETCH_MB=$mb w3 bf16-$mb; done
t check-gpu
timeout 200 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens > $OUT/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|greedy .*pass|all passed|failure" $OUT/check-gpu.log | head -8
tar czf $OUT/logs.tgz -C $L .
t done
