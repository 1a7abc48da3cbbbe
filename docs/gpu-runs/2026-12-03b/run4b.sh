#!/bin/bash
# H200, session 25 run4b (same lease as run4a): vLLM 0.26.0 on the block-FP8 Llama-3-8B shape
# (benchmarks/configs/llama3-8b-fp8-block, random weights), W1 / W2 by scripts/vllm_quant_peer.py. In run2b its start-up
# (DeepGemmFp8BlockScaledMMKernel, whose warmup JIT-compiles 1,749 GEMM shapes) passed the 200 s allowed; 560 s here.
export PYTHONUNBUFFERED=1 PYTHONPATH=/root/site VLLM_USE_FLASHINFER_SAMPLER=0
L=/tmp/logs4; mkdir -p $L; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
exec > >(tee -a $L/output.txt) 2>&1
cat /root/vllm-lean.part00 .peer1/vllm-lean.part01 > /root/v.tar.xz && rm /root/vllm-lean.part00
sha256sum /root/v.tar.xz; grep tar.xz .peer1/SHA256SUMS
mkdir -p /root/site && tar -C /root/site -xJf /root/v.tar.xz && rm /root/v.tar.xz; t unpacked
shape=llama3-8b-fp8-block; mkdir -p /tmp/$shape && cp benchmarks/configs/$shape/config.json /tmp/$shape/
t "vLLM $shape"
timeout 560 python3 scripts/vllm_quant_peer.py /tmp/$shape > $L/vllm-$shape.jsonl 2> $L/vllm-$shape.log
echo "rc=$?"; grep -E '^\{"what"' $L/vllm-$shape.jsonl
tr '\r' '\n' < $L/vllm-$shape.log | grep -E "DeepGEMM warmup" | tail -1
grep -ohE "Model loading took [0-9.]+ GiB|Selected [A-Za-z0-9]+ for [A-Za-z0-9]+|init engine .* took [0-9.]+ s.*|GPU KV cache size: [0-9,]+ tokens" $L/vllm-$shape.log $L/vllm-$shape.jsonl | sort -u | head
tar czf $OUT/logs.tgz -C $L .; t done
