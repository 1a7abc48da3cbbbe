#!/bin/bash
# H200, multi-LoRA 3: slots written from one staged upload; the bench puts its adapters in their slots before the
# clock starts (as the vLLM peer's warm-up does). The tiny models end to end again, W2 base / 8 adapters, and the
# per-op GPU time of a shorter run with 8 adapters (--profile: an event after every launch).
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; L=$OUT; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
timeout 200 /tmp/sv check-gpu $K --skip-ops --lora-goldens Tests/VLLMModelsTests/Goldens > $L/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|greedy|all passed|failure" $L/check-gpu.log | head -20
t adapters
python3 scripts/make_lora_bench_adapters.py benchmarks/configs/llama3-8b /tmp/adapters --count 8 --rank 16 2>&1 | tail -1
M="--model benchmarks/configs/llama3-8b --load-format dummy --input-len 512 --output-len 128 $K"
w2() {  # name, flags
  local n=$1; shift
  timeout 150 /tmp/sv bench throughput $M "$@" 2>$L/$n.log | grep -E "^\{" > $L/$n.json
  python3 -c "import json; d=json.load(open('$L/$n.json')); print('$n', d['num_prompts'], 'prompts', round(d['output_tokens_per_s'],1), 'tok/s, elapsed', round(d['elapsed_s'],3), 'steps', d['steps'], {k: round(v['ms'],1) for k, v in d.get('gpu_ms_by_step', {}).items()})" || tail -3 $L/$n.log
}
LORA="--enable-lora --max-loras 8 --max-lora-rank 16 --lora-adapters $(ls -d /tmp/adapters/lora* | tr '\n' ' ')"
t W2
w2 base --num-prompts 256
w2 lora8 --num-prompts 256 $LORA
w2 lora8-profile --num-prompts 64 $LORA --profile
grep -E "GPU|lora|calls" $L/lora8-profile.log | head -16
t done
