#!/bin/bash
# H200, session 17 run7: linear.cu's decode kernel to 16 tokens (linear_small_bf16[_f32]_t2: two groups of 8 tokens on
# the same weight fragments, 16-row CTAs) in place of cuBLASLt at 9–16 tokens. check-gpu (the decode linears at 12 and
# 16 tokens, the fused ones at 10–16), then W3 and W1 with SWIFT_VLLM_SMALL_LINEAR_MAX_TOKENS=8 (as before) against the
# default 16, bf16, twice each. Result: correct, but the 9–32-sequence steps slower (6.41 against 5.51 ms): removed.
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; L=/tmp/logs; mkdir -p $L; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
t check-gpu
timeout 220 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens > $L/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|greedy .*pass|all passed|failure|Error" $L/check-gpu.log | head -12
grep -E "^linear +T1[26] |fusedLinear .*T1[0-6] K[0-9]+ N[0-9]+ bf16" $L/check-gpu.log | head -20
w1() {  # name, flags
  local n=$1; shift
  timeout 100 /tmp/sv bench latency "$@" --load-format dummy --input-len 512 --output-len 128 --num-iters 5 $K 2>$L/$n-w1.log | grep -E "^\{" > $L/$n-w1.json
  python3 -c "import json; d=json.load(open('$L/$n-w1.json')); print('$n W1 TTFT', round(d['ttft_ms_median'],2), 'TPOT', round(d['tpot_ms_median'],3))" || tail -3 $L/$n-w1.log
}
w3() {  # name, flags
  local n=$1; shift
  timeout 100 /tmp/sv bench throughput "$@" --load-format dummy --lengths-file .gpu/w3_lengths.json --num-prompts 500 $K 2>$L/$n-w3.log | grep -E "^\{" > $L/$n-w3.json
  python3 -c "import json; d=json.load(open('$L/$n-w3.json')); print('$n W3 req/s', round(d['requests_per_s'],2), {k: round(v['ms']/v['steps'],3) for k, v in d['gpu_ms_by_step'].items()})" || tail -3 $L/$n-w3.log
}
B=benchmarks/configs/llama3-8b
t W3
w3 small16 --model $B
SWIFT_VLLM_SMALL_LINEAR_MAX_TOKENS=8 w3 small8 --model $B
w3 small16-again --model $B
SWIFT_VLLM_SMALL_LINEAR_MAX_TOKENS=8 w3 small8-again --model $B
t W1
w1 bf16 --model $B
tar czf $OUT/logs.tgz -C $L .
t done
