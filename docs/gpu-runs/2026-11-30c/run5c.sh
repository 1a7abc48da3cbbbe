#!/bin/bash
# H200, final lease 3/3 (peer unpacked by run5a/b): swift-vllm at this session's final code and vLLM 0.26.0 in
# the same lease, W1 / W2 (../shared/bench's prompts and timing), random weights (--load-format dummy):
# the Llama-3-8B shape as GPTQ-int4, the same shape in bf16 with an fp8 KV cache, and the seeds' deployment
# shape, Qwen2.5-14B GPTQ-int4 with an fp8 KV cache.
export PYTHONUNBUFFERED=1 PYTHONPATH=/root/site VLLM_USE_FLASHINFER_SAMPLER=0
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"
S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
run_ours() {  # config, kv cache dtype
  M="--model benchmarks/configs/$1 --load-format dummy --kv-cache-dtype $2"
  timeout 90 /tmp/sv bench latency $M --input-len 512 --output-len 128 --num-iters 5 $K 2>/dev/null | grep -E "^\{" | python3 -c "import json,sys; d=json.loads(sys.stdin.read()); print('ours $1 kv=$2 W1 TTFT', round(d['ttft_ms_median'],2), 'TPOT', round(d['tpot_ms_median'],3))"
  timeout 90 /tmp/sv bench throughput $M --num-prompts 256 --input-len 512 --output-len 128 $K 2>/dev/null | grep -E "^\{" | python3 -c "import json,sys; d=json.loads(sys.stdin.read()); print('ours $1 kv=$2 W2', round(d['output_tokens_per_s'],1))"
}
for c in "llama3-8b-gptq-int4 auto" "llama3-8b fp8" "qwen2.5-14b-gptq-int4 fp8"; do t "ours $c"; run_ours $c; done
for c in "llama3-8b-gptq-int4 auto" "llama3-8b fp8" "qwen2.5-14b-gptq-int4 fp8"; do
  set -- $c; t "vLLM $1 kv=$2"
  mkdir -p /tmp/vc/$1 && cp benchmarks/configs/$1/config.json /tmp/vc/$1/
  timeout 200 python3 scripts/vllm_quant_peer.py /tmp/vc/$1 --kv-cache-dtype $2 > $OUT/vllm-$1-$2.log 2>&1; grep -E '^\{' $OUT/vllm-$1-$2.log; tail -1 $OUT/vllm-$1-$2.log | cut -c1-200
done
t "done"
