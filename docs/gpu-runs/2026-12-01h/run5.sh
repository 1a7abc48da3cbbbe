#!/bin/bash
# H200, session 16 run5: the decode linears' first weight loads kept before griddepcontrol.wait (load_weight16_early:
# coherent, volatile loads; ptxas had put the wait — SASS ACQBULK — above every ld.global.nc weight load of
# linear_small, linear_int4_small and linear_fp8_small, so under PDL nothing streamed before the kernel before ended).
# W1 of each weight format (the same commands as run2 and session 13's run9 for the baselines), W3 bf16, check-gpu.
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; L=/tmp/logs; mkdir -p $L; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
w1() {  # name, flags
  local n=$1; shift
  timeout 100 /tmp/sv bench latency "$@" --load-format dummy --input-len 512 --output-len 128 --num-iters 5 $K 2>$L/$n-w1.log | grep -E "^\{" > $L/$n-w1.json
  python3 -c "import json; d=json.load(open('$L/$n-w1.json')); print('$n W1 TTFT', round(d['ttft_ms_median'],2), 'TPOT', round(d['tpot_ms_median'],3))" || tail -3 $L/$n-w1.log
}
t W1
w1 warm --model benchmarks/configs/llama3-8b
w1 bf16 --model benchmarks/configs/llama3-8b
w1 int4 --model benchmarks/configs/llama3-8b-gptq-int4
w1 fp8 --model benchmarks/configs/llama3-8b --quantization fp8
w1 qwen14b-int4-fp8kv --model benchmarks/configs/qwen2.5-14b-gptq-int4 --kv-cache-dtype fp8
w1 bf16-again --model benchmarks/configs/llama3-8b
t W3
timeout 100 /tmp/sv bench throughput --model benchmarks/configs/llama3-8b --load-format dummy --lengths-file .gpu/w3_lengths.json --num-prompts 500 $K 2>$L/w3.log | grep -E "^\{" > $L/w3.json
python3 -c "import json; d=json.load(open('$L/w3.json')); print('bf16 W3 req/s', round(d['requests_per_s'],2), {k: round(v['ms']/v['steps'],3) for k, v in d['gpu_ms_by_step'].items()})" || tail -3 $L/w3.log
t check-gpu
timeout 200 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens > $L/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|greedy .*pass|all passed|failure" $L/check-gpu.log | head -8
tar czf $OUT/logs.tgz -C $L .
t done
