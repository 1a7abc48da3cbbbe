#!/bin/bash
# H200: run8's fp8 golden failures (logits off by 1.3–1.6 after a decode-shaped step) came from a race: ptxas had
# hoisted linear_fp8_small's activation loads (ld.global.nc) above griddepcontrol.wait, so under programmatic dependent
# launch they could read x before the kernel writing it had finished. load_activation16 is now a coherent volatile
# load. check-gpu again (ops, the quantized goldens with decode graphs and eager, stories260K), then W1/W2 of the
# fp8 and GPTQ-int4 shapes.
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; L=$OUT; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
t check-gpu
timeout 240 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens \
  > $L/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|greedy|all passed|kernels ready|failure|quantized golden .*:" $L/check-gpu.log | head -12
grep -E "quantized golden" $L/check-gpu.log | grep fp8 | cut -c1-150
grep -cE "^(linear|quantized).* pass" $L/check-gpu.log
run() {  # name, flags
  local n=$1; shift
  timeout 100 /tmp/sv bench latency "$@" --input-len 512 --output-len 128 --num-iters 5 $K 2>$L/$n-w1.log | grep -E "^\{" > $L/$n-w1.json
  python3 -c "import json; d=json.load(open('$L/$n-w1.json')); print('$n W1 TTFT', round(d['ttft_ms_median'],2), 'TPOT', round(d['tpot_ms_median'],3))" || tail -3 $L/$n-w1.log
  timeout 100 /tmp/sv bench throughput "$@" --num-prompts 256 --input-len 512 --output-len 128 $K 2>$L/$n-w2.log | grep -E "^\{" > $L/$n-w2.json
  python3 -c "import json; d=json.load(open('$L/$n-w2.json')); print('$n W2', round(d['output_tokens_per_s'],1))" || tail -3 $L/$n-w2.log
}
t "llama8b-fp8"; run llama8b-fp8 --model benchmarks/configs/llama3-8b --load-format dummy --quantization fp8
t "llama8b-bf16"; run llama8b-bf16 --model benchmarks/configs/llama3-8b --load-format dummy
t "llama8b-int4"; run llama8b-int4 --model benchmarks/configs/llama3-8b-gptq-int4 --load-format dummy
t "qwen14b-int4-fp8"; run qwen14b-int4-fp8 --model benchmarks/configs/qwen2.5-14b-gptq-int4 --load-format dummy --kv-cache-dtype fp8
t done
