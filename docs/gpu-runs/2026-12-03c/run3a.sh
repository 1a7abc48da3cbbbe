#!/bin/bash
# H200, session 26 run3a: #20's rows on the landed binary (fddeb01), one lease with run3b/run3c (the vLLM 0.26.0 peer's
# two parts, then the peer on the same shapes): W1 / W2 of Llama-3-8B GPTQ-int4, --quantization fp8, bf16, bf16 with
# an fp8 KV cache, and the deployment's Qwen2.5-14B GPTQ-int4 with an fp8 KV cache; random weights.
source docs/gpu-runs/lib.sh
t W1 / W2
w1 int4 --model $I; w2 int4 --model $I
w1 fp8 --model $B --quantization fp8; w2 fp8 --model $B --quantization fp8
w1 bf16 --model $B; w2 bf16 --model $B
w1 bf16-fp8kv --model $B --kv-cache-dtype fp8; w2 bf16-fp8kv --model $B --kv-cache-dtype fp8
w1 qwen14b-int4-fp8kv --model $Q --kv-cache-dtype fp8; w2 qwen14b-int4-fp8kv --model $Q --kv-cache-dtype fp8
grep -h "KV cache:" $L/bf16-w2.log $L/bf16-fp8kv-w2.log
cp /tmp/sv /root/sv  # for run3c
finish
