#!/bin/bash
# H200, session 17 run1: decode linears with their neighbours folded in (Backend.fusedLinear: the RMSNorm before
# qkv and gate_up, SiLU·mul after gate_up, the residual add after o and down; linear_small_norm_bf16,
# linear_int4_small[_g128]_norm_bf16_t{1,2}, mode LINEAR_GATED / LINEAR_ADD). check-gpu (the fusedLinear rows, the
# quantized goldens run in 8-token chunks through the fused kernels), then W1 / W3 with SWIFT_VLLM_FUSED_LINEAR=0
# (the ops one by one, as before) against the fused default, bf16 and GPTQ-int4.
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; L=/tmp/logs; mkdir -p $L; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
t check-gpu
timeout 200 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens > $L/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|greedy .*pass|all passed|failure" $L/check-gpu.log | head -12
grep -E "fusedLinear" $L/check-gpu.log | awk '{print $NF}' | sort | uniq -c | head
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
B=benchmarks/configs/llama3-8b; I=benchmarks/configs/llama3-8b-gptq-int4
t W1
w1 warm --model $B
w1 bf16 --model $B
SWIFT_VLLM_FUSED_LINEAR=0 w1 bf16-unfused --model $B
w1 int4 --model $I
SWIFT_VLLM_FUSED_LINEAR=0 w1 int4-unfused --model $I
w1 bf16-again --model $B
w1 int4-again --model $I
t W3
w3 bf16 --model $B
SWIFT_VLLM_FUSED_LINEAR=0 w3 bf16-unfused --model $B
w3 int4 --model $I
SWIFT_VLLM_FUSED_LINEAR=0 w3 int4-unfused --model $I
tar czf $OUT/logs.tgz -C $L .
t done
