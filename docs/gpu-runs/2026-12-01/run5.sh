#!/bin/bash
# H200, multi-LoRA 5 (after the review's fixes: the LoRA mapping before the pending tokens' parts, pins, keys):
# the tiny models end to end (greedy batches that shrink inside a graph's shape), stories260K greedy GPU = CPU, and
# W2 base / 8 adapters once more.
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; L=$OUT; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
timeout 200 /tmp/sv check-gpu $K --skip-ops --lora-goldens Tests/VLLMModelsTests/Goldens --greedy-model .gpu/stories260K > $L/check-gpu.log 2>&1
echo "check-gpu exit $?"; grep -E "FAIL|greedy|all passed|failure" $L/check-gpu.log | head -20
t adapters
python3 scripts/make_lora_bench_adapters.py benchmarks/configs/llama3-8b /tmp/adapters --count 8 --rank 16 2>&1 | tail -1
M="--model benchmarks/configs/llama3-8b --load-format dummy --num-prompts 256 --input-len 512 --output-len 128 $K"
LORA="--enable-lora --max-loras 8 --max-lora-rank 16 --lora-adapters $(ls -d /tmp/adapters/lora* | tr '\n' ' ')"
w2() {  # name, flags
  local n=$1; shift
  timeout 150 /tmp/sv bench throughput $M "$@" 2>$L/$n.log | grep -E "^\{" > $L/$n.json
  python3 -c "import json; d=json.load(open('$L/$n.json')); print('$n W2', round(d['output_tokens_per_s'],1), 'tok/s', {k: round(v['ms'],1) for k, v in d.get('gpu_ms_by_step', {}).items()})" || tail -3 $L/$n.log
}
w2 base
w2 lora8 $LORA
t done
