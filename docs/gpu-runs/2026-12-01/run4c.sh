#!/bin/bash
# H200, LoRA peer lease 3/3: W2 of the Llama-3-8B shape (dummy weights, bf16) without LoRA and with 8 rank-16 PEFT
# adapters on every linear (scripts/make_lora_bench_adapters.py; request i on adapter i % 8), swift-vllm twice each,
# alternating, then vLLM 0.26.0 on the same machine with the same adapters (scripts/vllm_lora_peer.py --base:
# --enable-lora --max-loras 8 --max-lora-rank 16, W2 without adapters on that engine, then with them).
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; L=$OUT; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
t adapters
python3 scripts/make_lora_bench_adapters.py benchmarks/configs/llama3-8b /tmp/adapters --count 8 --rank 16 2>&1 | tail -1
M="--model benchmarks/configs/llama3-8b --load-format dummy --num-prompts 256 --input-len 512 --output-len 128 $K"
LORA="--enable-lora --max-loras 8 --max-lora-rank 16 --lora-adapters $(ls -d /tmp/adapters/lora* | tr '\n' ' ')"
w2() {  # name, flags
  local n=$1; shift
  timeout 150 /tmp/sv bench throughput $M "$@" 2>$L/$n.log | grep -E "^\{" > $L/$n.json
  python3 -c "import json; d=json.load(open('$L/$n.json')); print('$n W2', round(d['output_tokens_per_s'],1), 'tok/s, elapsed', round(d['elapsed_s'],3), {k: round(v['ms'],1) for k, v in d.get('gpu_ms_by_step', {}).items()})" || tail -3 $L/$n.log
}
t swift-vllm
w2 base-1
w2 lora8-1 $LORA
w2 base-2
w2 lora8-2 $LORA
t vllm
PYTHONPATH=/root/site VLLM_USE_FLASHINFER_SAMPLER=0 timeout 400 python3 scripts/vllm_lora_peer.py benchmarks/configs/llama3-8b /tmp/adapters \
  --count 8 --rank 16 --base > $L/vllm.log 2>&1; echo "vllm exit $?"
grep -E '^\{' $L/vllm.log; grep -E "Error|error" $L/vllm.log | tail -5
t done
