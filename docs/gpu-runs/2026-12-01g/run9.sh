#!/bin/bash
# H200: session 14's open question — should linear_int4_wgmma take 193–256 tokens on every 4-bit linear, not only
# gate_up? W2 of both GPTQ-int4 shapes with the shipped rule and with SWIFT_VLLM_INT4_WGMMA_MAX_TOKENS=256 (one binary).
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; L=$OUT; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
w2() {  # name, flags
  local n=$1; shift
  timeout 100 /tmp/sv bench throughput "$@" --num-prompts 256 --input-len 512 --output-len 128 $K 2>$L/$n-w2.log | grep -E "^\{" > $L/$n-w2.json
  python3 -c "import json; d=json.load(open('$L/$n-w2.json')); s=d.get('gpu_ms_by_step', {}); print('$n W2', round(d['output_tokens_per_s'],1), 'decode 129+', round(s.get('decode 129+', {}).get('ms', 0), 1), 'ms')" || tail -3 $L/$n-w2.log
}
L8="--model benchmarks/configs/llama3-8b-gptq-int4 --load-format dummy"
Q14="--model benchmarks/configs/qwen2.5-14b-gptq-int4 --load-format dummy --kv-cache-dtype fp8"
for i in 1 2; do
  t "round $i"
  w2 llama8b-rule-$i $L8
  SWIFT_VLLM_INT4_WGMMA_MAX_TOKENS=256 w2 llama8b-256-$i $L8
  w2 qwen14b-rule-$i $Q14
  SWIFT_VLLM_INT4_WGMMA_MAX_TOKENS=256 w2 qwen14b-256-$i $Q14
done
t done
