#!/bin/bash
# H200, session 17 run3: run2 showed the RMSNorm folded into qkv / gate_up costs far more than the kernel it removes —
# every CTA (3,584 for gate_up) normalizes all of x itself: gate_up 98 µs at 1 token, 283 µs at 8 (profile). The norm
# is its own kernel again; what stays fused is what needs no prologue: SiLU·mul into gate_up (mode LINEAR_GATED) and
# the residual add into o and down (LINEAR_ADD). W1 fused / SWIFT_VLLM_FUSED_LINEAR=0, profile, W3, check-gpu.
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; L=/tmp/logs; mkdir -p $L; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
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
SWIFT_VLLM_FUSED_LINEAR=0 w1 bf16-unfused-again --model $B
SWIFT_VLLM_FUSED_LINEAR=0 w1 int4-unfused-again --model $I
t profile
timeout 100 /tmp/sv check-gpu $K --skip-ops --model $B --load-format dummy --profile-decode 1 8 > $L/profile-bf16.log 2>&1 || tail -5 $L/profile-bf16.log
grep -A12 "^decode" $L/profile-bf16.log | head -30
t W3
w3 bf16 --model $B
SWIFT_VLLM_FUSED_LINEAR=0 w3 bf16-unfused --model $B
w3 int4 --model $I
SWIFT_VLLM_FUSED_LINEAR=0 w3 int4-unfused --model $I
t check-gpu
timeout 200 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens > $L/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|greedy .*pass|all passed|failure|Error" $L/check-gpu.log | head -12
grep -E "fusedLinear" $L/check-gpu.log | awk '{print $NF}' | sort | uniq -c | head
tar czf $OUT/logs.tgz -C $L .
t done
