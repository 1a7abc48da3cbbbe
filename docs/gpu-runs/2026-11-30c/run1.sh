#!/bin/bash
# H200 lease 1: 4-bit weights (Kernels/linear_int4.cu). Every op against the CPU (int4 linears at 1–100 tokens,
# act-order, zero points, f32 logits), the tiny quantized goldens greedy on the GPU (bf16: int4 kernels; f32:
# dequantized dense) beside the CPU's tokens, bench-linear's int4 column, a decode profile, and W1 / W2 of the
# Llama-3-8B shape as GPTQ-int4 and of the Qwen2.5-14B GPTQ-int4 shape (random weights, --load-format dummy).
export PYTHONUNBUFFERED=1
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"
S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
t "check-gpu"
timeout 200 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K > $OUT/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|greedy|all passed|failure|rror" $OUT/check-gpu.log | head -8
grep -E "int4" $OUT/check-gpu.log | head -24
t "tiny quantized goldens on the GPU"
for n in gptq-4bit-g32-sym awq-4bit-g64 ct-w4a16-group-asym gptq-4bit-g64-actorder-asym; do
  for d in bfloat16 float32; do
    timeout 60 /tmp/sv generate --model Tests/VLLMModelsTests/Goldens/quantized/$n --prompts .gpu/quant-$n.jsonl --output $OUT/q-$n-$d.jsonl --device cuda --dtype $d $K 2>$OUT/q-$n-$d.err
    python3 -c "import json; a=[json.loads(l)['outputs'][0]['token_ids'] for l in open('$OUT/q-$n-$d.jsonl')]; b=[json.loads(l)['outputs'][0]['token_ids'] for l in open('.gpu/quant-$n-cpu.jsonl')]; print('$n $d: tokens equal to the CPU', sum(x==y for x,y in zip(a,b)), 'of', len(b), '; first-token agreement', sum(x[0]==y[0] for x,y in zip(a,b)))" 2>&1 | tail -1
  done
done
t "bench-linear"
timeout 150 /tmp/sv check-gpu $K --skip-ops --bench-linear > $OUT/bench-linear.log 2>&1; grep -E " T (1|8|32|64) " $OUT/bench-linear.log
t "decode profile, Llama-3-8B GPTQ-int4 shape"
timeout 120 /tmp/sv check-gpu $K --skip-ops --model benchmarks/configs/llama3-8b-gptq-int4 --load-format dummy --profile-decode 1 64 256 > $OUT/profile.log 2>&1; grep -E "step|linear" $OUT/profile.log | head -30
for m in llama3-8b-gptq-int4 qwen2.5-14b-gptq-int4; do
  t "W1 / W2 $m"
  M="--model benchmarks/configs/$m --load-format dummy"
  timeout 90 /tmp/sv bench latency $M --input-len 512 --output-len 128 --num-iters 5 $K 2>$OUT/w1-$m.err | grep -E "^\{" | tee -a $OUT/ours.jsonl
  grep -iE "rror|KV cache" $OUT/w1-$m.err | head -3
  timeout 90 /tmp/sv bench throughput $M --num-prompts 256 --input-len 512 --output-len 128 $K 2>$OUT/w2-$m.err | grep -E "^\{" | tee -a $OUT/ours.jsonl
  grep -iE "rror" $OUT/w2-$m.err | head -3
done
t "done"
