#!/bin/bash
# Shared by the run scripts that measure the vLLM 0.26.0 peer (../shared/gpu/README.md) from session 26 on. Its two
# parts travel in back-to-back calls of one lease (a call carries at most 64 MiB): the first copies .peer0's part to
# /root (`cp .peer0/vllm-lean.part00 /root/`); the second, carrying .peer1, sources this file, runs `peer_unpack`, then
# `peer NAME SHAPE [FLAGS…]` per model: scripts/vllm_quant_peer.py (W1 / W2, `--load-format dummy`) on
# benchmarks/configs/SHAPE's config.json, its JSON lines in $L/vllm-NAME.jsonl and printed, its log in $L/vllm-NAME.log.
# A script that also sources lib.sh sources it first (lib.sh sets L and t, and sends stdout to $L/output.txt).
export PYTHONUNBUFFERED=1 PYTHONPATH=/root/site VLLM_USE_FLASHINFER_SAMPLER=0
if [ -z "$L" ]; then
  L=/tmp/logs; mkdir -p $L; S=$(date +%s)
  t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
  exec > >(tee -a $L/output.txt) 2>&1
fi
peer_unpack() {  # join the two parts, check them against SHA256SUMS, unpack into /root/site
  cat /root/vllm-lean.part00 .peer1/vllm-lean.part01 > /root/v.tar.xz && rm /root/vllm-lean.part00
  sha256sum /root/v.tar.xz; grep tar.xz .peer1/SHA256SUMS
  mkdir -p /root/site && tar -C /root/site -xJf /root/v.tar.xz && rm /root/v.tar.xz; t unpacked
}
peer() {  # name, shape (a folder of benchmarks/configs), flags (--quantization fp8, --kv-cache-dtype fp8, …)
  local n=$1 shape=$2; shift 2
  mkdir -p /tmp/$shape && cp benchmarks/configs/$shape/config.json /tmp/$shape/
  t "vLLM $n"
  # vLLM's engine process logs to stdout too: only the JSON lines are the figures.
  timeout ${PEER_TIMEOUT:-200} python3 scripts/vllm_quant_peer.py /tmp/$shape "$@" > $L/vllm-$n.log 2>&1
  echo "rc=$?"; grep -E '^\{' $L/vllm-$n.log | tee $L/vllm-$n.jsonl
  grep -ohE "Model loading took [0-9.]+ GiB|Using [A-Za-z0-9_]+ for [A-Za-z0-9_]+|quantization=[a-z_]+|GPU KV cache size: [0-9,]+ tokens" $L/vllm-$n.log | sort -u | head
}
