#!/bin/bash
# H200, session 18 run5: linear_int4_decode (the 4-bit decode kernel rebuilt from run1–run4's lessons, 4/8/16 warps a
# CTA by CUDABackend.int4DecodeWarps) in the engine, against session 17's kernel in the same binary
# (SWIFT_VLLM_INT4_DECODE=0): the kernel alone, W1 of the Llama-3-8B and Qwen2.5-14B GPTQ-int4 shapes, W3 int4,
# and check-gpu (every op against the CPU, the quantized goldens, stories260K greedy).
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
cp .gpu/int4decode /tmp/d && chmod +x /tmp/d
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
t kernel alone
timeout 60 /tmp/d 200 > $L/kernel.txt 2>&1; echo "int4decode rc=$?"; cat $L/kernel.txt
B=benchmarks/configs/llama3-8b; I=benchmarks/configs/llama3-8b-gptq-int4; Q=benchmarks/configs/qwen2.5-14b-gptq-int4
t W1
w1 warm --model $I
w1 int4 --model $I
SWIFT_VLLM_INT4_DECODE=0 w1 int4-before --model $I
w1 int4-again --model $I
SWIFT_VLLM_INT4_DECODE=0 w1 int4-before-again --model $I
w1 qwen14b-int4 --model $Q --kv-cache-dtype fp8
SWIFT_VLLM_INT4_DECODE=0 w1 qwen14b-int4-before --model $Q --kv-cache-dtype fp8
w1 bf16 --model $B
t W3
w3 int4 --model $I
SWIFT_VLLM_INT4_DECODE=0 w3 int4-before --model $I
t check-gpu
timeout 200 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens > $L/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|greedy .*pass|all passed|failure|Error" $L/check-gpu.log | head -12
grep -E "linear int[48] T[1-8] |fusedLinear.*int" $L/check-gpu.log | head -40
tar czf $OUT/logs.tgz -C $L .
t done
