#!/bin/bash
# H200, session 18 run6: the norm after o and down folded into them (LINEAR_ADD_NORM: the linear's last CTA writes
# rmsNorm(residual), common.cuh's rms_norm_by_last_cta) for bf16 (linear_small_bf16) and 4-bit (linear_int4_decode)
# decode steps; the same binary with SWIFT_VLLM_FUSED_NORM=0 runs the norm as its own kernel. check-gpu, W1, W3.
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
t check-gpu
timeout 200 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens > $L/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|greedy .*pass|all passed|failure|Error" $L/check-gpu.log | head -12
grep -E "rmsNorm" $L/check-gpu.log | head -40
B=benchmarks/configs/llama3-8b; I=benchmarks/configs/llama3-8b-gptq-int4; Q=benchmarks/configs/qwen2.5-14b-gptq-int4
t W1
w1 warm --model $I
w1 int4 --model $I
SWIFT_VLLM_FUSED_NORM=0 w1 int4-unfused-norm --model $I
w1 bf16 --model $B
SWIFT_VLLM_FUSED_NORM=0 w1 bf16-unfused-norm --model $B
w1 int4-again --model $I
SWIFT_VLLM_FUSED_NORM=0 w1 int4-unfused-norm-again --model $I
w1 bf16-again --model $B
SWIFT_VLLM_FUSED_NORM=0 w1 bf16-unfused-norm-again --model $B
w1 qwen14b-int4 --model $Q --kv-cache-dtype fp8
w1 fp8 --model $B --quantization fp8
t W3
w3 warm-int4 --model $I
w3 int4 --model $I
w3 bf16 --model $B
SWIFT_VLLM_FUSED_NORM=0 w3 bf16-unfused-norm --model $B
tar czf $OUT/logs.tgz -C $L .
t done
