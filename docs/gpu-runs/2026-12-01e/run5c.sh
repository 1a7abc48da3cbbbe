#!/bin/bash
# H200, lease 2026-12-01e, 5c: vLLM 0.26.0 with --quantization fp8 (online FP8: its Fp8LinearMethod quantizes the
# dummy bf16 weights at load) on the Llama-3-8B shape, W1 and W2 as run4 measured ours; the log lines that show the
# weights' size and the FP8 kernel vLLM picked.
export PYTHONUNBUFFERED=1 PYTHONPATH=/root/site VLLM_USE_FLASHINFER_SAMPLER=0
L=$OUT; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
mkdir -p /tmp/llama3-8b && cp benchmarks/configs/llama3-8b/config.json /tmp/llama3-8b/
t "vLLM llama3-8b --quantization fp8"
timeout 400 python3 scripts/vllm_quant_peer.py /tmp/llama3-8b --quantization fp8 > $L/vllm-fp8.jsonl 2> $L/vllm-fp8.log
echo "rc=$?"; cat $L/vllm-fp8.jsonl
grep -ohE "Model loading took [0-9.]+ GiB|Using [A-Za-z0-9_]+ for [A-Za-z0-9]+|quantization=[a-z0-9_]+|[A-Za-z]*Fp8[A-Za-z]*Kernel[A-Za-z]*" $L/vllm-fp8.log | sort -u
t done
