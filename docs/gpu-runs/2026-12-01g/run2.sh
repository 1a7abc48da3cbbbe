#!/bin/bash
# H200: run1 found linear_int4_stream 1.4-1.6x slower in the engine with a bulk copy a weight row a stage (512 bytes);
# here each stage is two tensor-map copies (the weight [128 words x R rows], x [256 x 8 bytes x M]). Kernel alone, check-gpu,
# W1 of both GPTQ-int4 shapes with it off / on / at 4 stages, and the batch-1 decode profile.
cp .gpu/int4decode /tmp/d && chmod +x /tmp/d
timeout 150 /tmp/d 200 > $OUT/kernel.txt 2>&1; echo "int4decode rc=$?"; cat $OUT/kernel.txt
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; L=$OUT; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
t check-gpu
timeout 200 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens \
  > $L/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|greedy .*pass|all passed|failure" $L/check-gpu.log | head -8
grep -E "int4.*(T1|T7|T8|T2) " $L/check-gpu.log | head -20
w1() {  # name, flags
  local n=$1; shift
  timeout 100 /tmp/sv bench latency "$@" --input-len 512 --output-len 128 --num-iters 5 $K 2>$L/$n-w1.log | grep -E "^\{" > $L/$n-w1.json
  python3 -c "import json; d=json.load(open('$L/$n-w1.json')); print('$n W1 TTFT', round(d['ttft_ms_median'],2), 'TPOT', round(d['tpot_ms_median'],3))" || tail -3 $L/$n-w1.log
}
L8="--model benchmarks/configs/llama3-8b-gptq-int4 --load-format dummy"
Q14="--model benchmarks/configs/qwen2.5-14b-gptq-int4 --load-format dummy --kv-cache-dtype fp8"
t W1
SWIFT_VLLM_INT4_STREAM=0 w1 llama8b-small $L8
w1 llama8b-stream $L8
SWIFT_VLLM_INT4_STREAM_STAGES=4 w1 llama8b-stream4 $L8
SWIFT_VLLM_INT4_STREAM=0 w1 qwen14b-small $Q14
w1 qwen14b-stream $Q14
t profile
timeout 120 /tmp/sv check-gpu $K --skip-ops $L8 --profile-decode 1 > $L/profile.log 2>&1 || tail -5 $L/profile.log
grep -A8 "^decode" $L/profile.log | head -9
t done
