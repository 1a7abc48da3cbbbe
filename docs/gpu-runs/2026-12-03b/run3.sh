#!/bin/bash
# H200, session 25 run3 (same lease as run2b, the peer still unpacked in /root/site): vLLM 0.26.0 on the block-FP8
# Llama-3-8B shape again — in run2b its start-up (DeepGemmFp8BlockScaledMMKernel; the DeepGEMM warmup JIT-compiles
# 1,749 shapes) passed the 200 s allowed. Kernels compiled then are in /root/.cache; this run allows 560 s.
export PYTHONUNBUFFERED=1 PYTHONPATH=/root/site VLLM_USE_FLASHINFER_SAMPLER=0
L=/tmp/logs3; mkdir -p $L; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
exec > >(tee -a $L/output.txt) 2>&1
shape=llama3-8b-fp8-block; mkdir -p /tmp/$shape && cp benchmarks/configs/$shape/config.json /tmp/$shape/
t "vLLM $shape"
timeout 560 python3 scripts/vllm_quant_peer.py /tmp/$shape > $L/vllm-$shape.jsonl 2> $L/vllm-$shape.log
echo "rc=$?"; grep -E '^\{"what"' $L/vllm-$shape.jsonl
tr '\r' '\n' < $L/vllm-$shape.log | grep -E "DeepGEMM warmup" | tail -1
grep -ohE "Model loading took [0-9.]+ GiB|Selected [A-Za-z0-9]+ for [A-Za-z0-9]+|init engine .* took [0-9.]+ s|GPU KV cache size: [0-9,]+ tokens" $L/vllm-$shape.log | sort -u | head
tar czf $OUT/logs.tgz -C $L .; t done
