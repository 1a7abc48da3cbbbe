#!/bin/bash
# H200, multi-LoRA 2 (last-CTA split reduction, coalesced expand, f32 kernels): every op against the CPU (addLoRA included), the tiny models' PEFT adapters end to end
# (--lora-goldens), then W2 of the Llama-3-8B shape without LoRA and with 8 rank-16 PEFT adapters over all linears
# (scripts/make_lora_bench_adapters.py, request i on adapter i % 8).
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; L=$OUT; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
timeout 300 /tmp/sv check-gpu $K --lora-goldens Tests/VLLMModelsTests/Goldens > $L/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|LoRA|addLoRA|all passed|failure" $L/check-gpu.log | head -70
t adapters
python3 scripts/make_lora_bench_adapters.py benchmarks/configs/llama3-8b /tmp/adapters --count 8 --rank 16 2>&1 | tail -1
M="--model benchmarks/configs/llama3-8b --load-format dummy --num-prompts 256 --input-len 512 --output-len 128 $K"
w2() {  # name, flags
  local n=$1; shift
  timeout 150 /tmp/sv bench throughput $M "$@" 2>$L/$n.log | grep -E "^\{" > $L/$n.json
  python3 -c "import json; d=json.load(open('$L/$n.json')); print('$n W2', round(d['output_tokens_per_s'],1), 'steps', d['steps'], {k: round(v['ms'],1) for k, v in d.get('gpu_ms_by_step', {}).items()})" || tail -3 $L/$n.log
}
t W2
w2 base
w2 lora8 --enable-lora --max-loras 8 --max-lora-rank 16 --lora-adapters $(ls -d /tmp/adapters/lora*)
w2 lora8-one-adapter --enable-lora --max-loras 8 --max-lora-rank 16 --lora-adapters /tmp/adapters/lora0
t done
