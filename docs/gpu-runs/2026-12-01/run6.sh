#!/bin/bash
# Two H200s, multi-LoRA under tensor parallelism: the tiny models' PEFT adapters end to end on one GPU and over two
# (NCCL; each rank its rows of B for q/k/v and gate/up, its columns of A for o and down), f32 exact and bf16; then
# W2 of the Llama-3-8B shape at -tp 2 without and with the 8 adapters.
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; L=$OUT; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
export NCCL_NVLS_ENABLE=0
timeout 240 /tmp/sv check-gpu $K --skip-ops --lora-goldens Tests/VLLMModelsTests/Goldens --lora-tensor-parallel 2 > $L/check-gpu.log 2>&1
echo "check-gpu exit $?"; grep -E "FAIL|greedy|all passed|failure|tp2 logits .*prompt 2" $L/check-gpu.log | head -30
t adapters
python3 scripts/make_lora_bench_adapters.py benchmarks/configs/llama3-8b /tmp/adapters --count 8 --rank 16 2>&1 | tail -1
M="--model benchmarks/configs/llama3-8b --load-format dummy --num-prompts 256 --input-len 512 --output-len 128 -tp 2 $K"
LORA="--enable-lora --max-loras 8 --max-lora-rank 16 --lora-adapters $(ls -d /tmp/adapters/lora* | tr '\n' ' ')"
w2() {  # name, flags
  local n=$1; shift
  timeout 150 /tmp/sv bench throughput $M "$@" 2>$L/$n.log | grep -E "^\{" > $L/$n.json
  python3 -c "import json; d=json.load(open('$L/$n.json')); print('$n W2', round(d['output_tokens_per_s'],1), 'tok/s')" || tail -3 $L/$n.log
}
w2 tp2-base
w2 tp2-lora8 $LORA
t done
