#!/bin/bash
# H200, session 16 run6: run5's check-gpu found a race its early weight loads opened — `linear int8 T5 … dequantized`
# (a 4-bit/8-bit weight dequantized into scratch by the kernel just before linear_small, whose first weight loads now
# precede its wait) at 1.44e-1. linear_small now takes freshWeight (the dequantized path sets it) and waits first.
# check-gpu again, then W1 bf16 / GPTQ-int4 / fp8 as in run5.
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; L=/tmp/logs; mkdir -p $L; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
t check-gpu
timeout 200 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens > $L/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|greedy .*pass|all passed|failure" $L/check-gpu.log | head -8
grep -E "linear int8 .*T5 .*dequantized|linear int4 .*T20 .*dequantized" $L/check-gpu.log
w1() {  # name, flags
  local n=$1; shift
  timeout 100 /tmp/sv bench latency "$@" --load-format dummy --input-len 512 --output-len 128 --num-iters 5 $K 2>$L/$n-w1.log | grep -E "^\{" > $L/$n-w1.json
  python3 -c "import json; d=json.load(open('$L/$n-w1.json')); print('$n W1 TTFT', round(d['ttft_ms_median'],2), 'TPOT', round(d['tpot_ms_median'],3))" || tail -3 $L/$n-w1.log
}
t W1
w1 bf16 --model benchmarks/configs/llama3-8b
w1 int4 --model benchmarks/configs/llama3-8b-gptq-int4
w1 fp8 --model benchmarks/configs/llama3-8b --quantization fp8
w1 bf16-again --model benchmarks/configs/llama3-8b
w1 int4-again --model benchmarks/configs/llama3-8b-gptq-int4
tar czf $OUT/logs.tgz -C $L .
t done
