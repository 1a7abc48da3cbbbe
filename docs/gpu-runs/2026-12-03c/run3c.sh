#!/bin/bash
# H200, session 26 run3c (same lease as run3a, run3b): the peer's second part joined, checked and unpacked; then vLLM
# 0.26.0 (scripts/vllm_quant_peer.py: W1 / W2, `--load-format dummy` on the same config.json) on run3a's shapes, in
# order of #20's rows: Llama-3-8B GPTQ-int4 (gptq_marlin), --quantization fp8, Qwen2.5-14B GPTQ-int4 with an fp8 KV
# cache, bf16 with an fp8 KV cache.
export PYTHONUNBUFFERED=1 PYTHONPATH=/root/site VLLM_USE_FLASHINFER_SAMPLER=0
L=/tmp/logs; mkdir -p $L; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
exec > >(tee -a $L/output.txt) 2>&1
cat /root/vllm-lean.part00 .peer1/vllm-lean.part01 > /root/v.tar.xz && rm /root/vllm-lean.part00
sha256sum /root/v.tar.xz; grep tar.xz .peer1/SHA256SUMS
mkdir -p /root/site && tar -C /root/site -xJf /root/v.tar.xz && rm /root/v.tar.xz; t unpacked
peer() {  # name, shape, flags
  local n=$1 shape=$2; shift 2
  mkdir -p /tmp/$shape && cp benchmarks/configs/$shape/config.json /tmp/$shape/
  t "vLLM $n"
  timeout 140 python3 scripts/vllm_quant_peer.py /tmp/$shape "$@" > $L/vllm-$n.jsonl 2> $L/vllm-$n.log
  echo "rc=$?"; cat $L/vllm-$n.jsonl
  grep -ohE "Model loading took [0-9.]+ GiB|Using [A-Za-z0-9_]+ for [A-Za-z0-9_]+|quantization=[a-z_]+|# GPU blocks: [0-9]+|GPU KV cache size: [0-9,]+ tokens" $L/vllm-$n.log | sort -u | head
}
peer int4 llama3-8b-gptq-int4
peer fp8 llama3-8b --quantization fp8
peer qwen14b-int4-fp8kv qwen2.5-14b-gptq-int4 --kv-cache-dtype fp8
peer bf16-fp8kv llama3-8b --kv-cache-dtype fp8
tar czf $OUT/logs.tgz -C $L .; t done
