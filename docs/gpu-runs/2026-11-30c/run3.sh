#!/bin/bash
# H200: the fp8 KV cache (--kv-cache-dtype fp8): every op against the CPU (fp8 cache writes exact, decode and
# prefill attention over e4m3 / e5m2 caches, scales 1 and not), then W1 / W2 of the Llama-3-8B shape in bf16 with
# an fp8 cache, and of the seeds' deployment shape (Qwen2.5-14B GPTQ-int4, fp8 cache), and that shape served
# over HTTP with the seeds' flags (one completion through the OpenAI API).
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"
S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
timeout 240 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K > $OUT/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|greedy|all passed|failure|rror" $OUT/check-gpu.log | head -8; grep -E "float8" $OUT/check-gpu.log | head -24
for m in "llama3-8b" "qwen2.5-14b-gptq-int4"; do
  t "W1 / W2 $m, --kv-cache-dtype fp8"
  M="--model benchmarks/configs/$m --load-format dummy --kv-cache-dtype fp8"
  timeout 90 /tmp/sv bench latency $M --input-len 512 --output-len 128 --num-iters 5 $K 2>$OUT/w1-$m.err | grep -E "^\{" | tee -a $OUT/ours.jsonl
  grep -E "rror|KV cache" $OUT/w1-$m.err | head -2
  timeout 90 /tmp/sv bench throughput $M --num-prompts 256 --input-len 512 --output-len 128 $K 2>$OUT/w2-$m.err | grep -E "^\{" | tee -a $OUT/ours.jsonl | python3 -c "import json,sys; d=json.loads(sys.stdin.read()); print('W2', d['output_tokens_per_s'])"
  grep -E "rror" $OUT/w2-$m.err | head -2
done
t "serve, the seeds' flags"
mkdir -p /tmp/q14 && cp benchmarks/configs/qwen2.5-14b-gptq-int4/config.json .gpu/gpt2/* /tmp/q14/
/tmp/sv serve /tmp/q14 --load-format dummy --quantization gptq_marlin --kv-cache-dtype fp8 --port 18000 --served-model-name qwen $K > $OUT/serve.log 2>&1 & P=$!
for i in $(seq 600); do curl -sf localhost:18000/health >/dev/null && break; sleep 0.05; done
curl -s localhost:18000/v1/completions -H 'Content-Type: application/json' -d '{"model": "qwen", "prompt": "Hello there", "max_tokens": 8, "temperature": 0}' | head -c 400; echo
kill $P; wait $P 2>/dev/null
grep -E "quantization|KV cache|ready|rror" $OUT/serve.log | head -5
t "done"
