#!/bin/bash
# H200, lease of run8: the peer's four quarters joined, checked and unpacked; then vLLM 0.26.0 on the Llama-3-8B shape
# as GPTQ 8-bit (benchmarks/configs/llama3-8b-gptq-int8, its linears listed so vLLM builds them 8-bit), W1 and W2 as
# run7 measured ours, with the log lines naming vLLM's kernel and its weights' size (its bf16: issue #12's figures).
cat .gpu/p1/a00 .gpu/p2/a01 .gpu/p3/b00 .gpu/p4/b01 > /root/v.tar.xz
sha256sum /root/v.tar.xz; grep tar.xz .gpu/p4/SHA256SUMS
mkdir -p /root/site && tar -C /root/site -xJf /root/v.tar.xz && rm /root/v.tar.xz && du -sh /root/site
export PYTHONUNBUFFERED=1 PYTHONPATH=/root/site VLLM_USE_FLASHINFER_SAMPLER=0
L=$OUT; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
for shape in llama3-8b-gptq-int8; do
  mkdir -p /tmp/$shape && cp benchmarks/configs/$shape/config.json /tmp/$shape/
  t "vLLM $shape"
  timeout 280 python3 scripts/vllm_quant_peer.py /tmp/$shape > $L/vllm-$shape.jsonl 2> $L/vllm-$shape.log
  echo "rc=$?"; cat $L/vllm-$shape.jsonl
  grep -ohE "Model loading took [0-9.]+ GiB|Using [A-Za-z0-9_]+ for [A-Za-z0-9]+|quantization=[a-z0-9_]+|[A-Za-z]*(Marlin|Machete)[A-Za-z]*" $L/vllm-$shape.log | sort -u
done
t done
