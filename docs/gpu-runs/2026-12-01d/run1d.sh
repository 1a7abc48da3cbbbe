#!/bin/bash
# H200, lease 2026-12-01d, 4/5: vLLM 0.26.0 on the same GPTQ-int4 shapes as run1c, now quantized: the configs list
# their linears in modules_in_block_to_quantize (benchmarks/README.md). The log lines that show it: the weights'
# size ("Model loading took") and the linear kernel vLLM picked.
export PYTHONUNBUFFERED=1 PYTHONPATH=/root/site VLLM_USE_FLASHINFER_SAMPLER=0
L=$OUT; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
for shape in llama3-8b-gptq-int4 qwen2.5-14b-gptq-int4; do
  mkdir -p /tmp/$shape && cp benchmarks/configs/$shape/config.json /tmp/$shape/
  kv=auto; [ $shape = qwen2.5-14b-gptq-int4 ] && kv=fp8
  t "vLLM $shape kv $kv"
  timeout 280 python3 scripts/vllm_quant_peer.py /tmp/$shape --kv-cache-dtype $kv > $L/vllm-$shape.jsonl 2> $L/vllm-$shape.log
  echo "rc=$?"; cat $L/vllm-$shape.jsonl
  grep -ohE "Model loading took [0-9.]+ GiB|Using [A-Za-z0-9_]+ for [A-Za-z]+|quantization=[a-z_]+" $L/vllm-$shape.log | sort -u
done
t done
