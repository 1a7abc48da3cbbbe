#!/bin/bash
# H200 ×2, final lease 3/3 (peer unpacked by run3a/b): swift-vllm at this session's tensor-parallel code, the
# Llama-3-8B shape at TP=2 and TP=1 (W1/W2/W3) and the seeds' Qwen2.5-14B GPTQ-int4 + fp8 KV shape at TP=2; then
# vLLM 0.26.0 at TP=2 on the same workloads (scripts/vllm_quant_peer.py: ../shared/bench's prompts and timing).
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
export PYTHONUNBUFFERED=1 PYTHONPATH=/root/site VLLM_USE_FLASHINFER_SAMPLER=0
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; L=/tmp/logs; mkdir -p $L
S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
ours() {  # name, flags
  local n=$1; shift
  timeout 120 /tmp/sv bench latency "$@" --input-len 512 --output-len 128 --num-iters 5 $K 2>$L/$n-w1.log | grep -E "^\{" > $L/$n-w1.json
  python3 -c "import json; d=json.load(open('$L/$n-w1.json')); print('ours $n W1 TTFT', round(d['ttft_ms_median'],2), 'TPOT', round(d['tpot_ms_median'],3))" || tail -3 $L/$n-w1.log
  timeout 120 /tmp/sv bench throughput "$@" --num-prompts 256 --input-len 512 --output-len 128 $K 2>$L/$n-w2.log | grep -E "^\{" > $L/$n-w2.json
  python3 -c "import json; d=json.load(open('$L/$n-w2.json')); print('ours $n W2', round(d['output_tokens_per_s'],1))" || tail -3 $L/$n-w2.log
  timeout 120 /tmp/sv bench throughput "$@" --lengths-file .gpu/w3_lengths.json --num-prompts 500 $K 2>$L/$n-w3.log | grep -E "^\{" > $L/$n-w3.json
  python3 -c "import json; d=json.load(open('$L/$n-w3.json')); print('ours $n W3', round(d['requests_per_s'],2))" || tail -3 $L/$n-w3.log
}
t "ours"
ours llama3-8b-tp2 --model benchmarks/configs/llama3-8b --load-format dummy -tp 2
ours llama3-8b-tp1 --model benchmarks/configs/llama3-8b --load-format dummy
ours qwen14b-gptq-fp8-tp2 --model benchmarks/configs/qwen2.5-14b-gptq-int4 --load-format dummy -tp 2 --kv-cache-dtype fp8 --quantization gptq_marlin
for c in "llama3-8b auto" "qwen2.5-14b-gptq-int4 fp8"; do
  set -- $c; t "vLLM $1 kv=$2 TP=2"
  mkdir -p /tmp/vc/$1 && cp benchmarks/configs/$1/config.json /tmp/vc/$1/
  timeout 260 python3 scripts/vllm_quant_peer.py /tmp/vc/$1 --kv-cache-dtype $2 --tensor-parallel-size 2 --w3 .gpu/w3_lengths.json > $L/vllm-$1-$2.log 2>&1
  grep -E '^\{' $L/vllm-$1-$2.log; tail -1 $L/vllm-$1-$2.log | cut -c1-200
done
t "done"
tar -C /tmp -czf $OUT/logs.tar.gz logs
