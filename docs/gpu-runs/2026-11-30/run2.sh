#!/bin/bash
# H200, second call: every op (new: prefill_attention.cu, decodes-first split, split→cache), stories260K
# GPU = CPU, qwen2.5-0.5b teacher-forced against transformers (bf16, f32), Llama-3-8B shape profile
# (prefill with and without the new kernel, decode), W1 / W2 / W3, and start-up of `serve` (dummy 8B).
export PYTHONUNBUFFERED=1
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; M="--model benchmarks/configs/llama3-8b --load-format dummy"
S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
t "check-gpu ops + stories260K greedy"
timeout 150 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K > $OUT/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|greedy|all passed|failure|rror" $OUT/check-gpu.log | head -20
grep -E "prefill-1024|mixed-64|mixed-decodes" $OUT/check-gpu.log | head -6
t "qwen2.5-0.5b parity"
(python3 .gpu/hf_peer.py --shape qwen2.5-0.5b --only none --save /tmp/qwen && \
 python3 .gpu/gpu_reference.py /tmp/qwen /tmp/qr --variants bf16,bf16-batch2,f32) > $OUT/qwen-ref.log 2>&1; tail -2 $OUT/qwen-ref.log
timeout 60 /tmp/sv check-gpu $K --skip-ops --model /tmp/qwen --reference /tmp/qr/bf16/reference.json \
  --reference /tmp/qr/bf16-batch2/reference.json 2>&1 | grep -vE "^kernel" | tee $OUT/qwen-bf16.log | grep -E "teacher|against|greedy|check-gpu"
timeout 60 /tmp/sv check-gpu $K --skip-ops --model /tmp/qwen --dtype float32 --reference /tmp/qr/f32/reference.json 2>&1 \
  | grep -vE "^kernel" | tee $OUT/qwen-f32.log | grep -E "teacher|against|greedy|check-gpu"
t "profile: prefill (new, then old attention) and decode"
timeout 90 /tmp/sv check-gpu $K --skip-ops $M --profile-decode 1 64 256 > $OUT/profile.log 2>&1
grep -E "^prefill|^decode|attention|linear N|split|norm" $OUT/profile.log | head -40
SWIFT_VLLM_PREFILL_ATTENTION=0 timeout 60 /tmp/sv check-gpu $K --skip-ops $M --profile-decode 1 > $OUT/profile-old-prefill.log 2>&1
grep -E "^prefill|paged_attention" $OUT/profile-old-prefill.log | head -4
t "W1"; timeout 60 /tmp/sv bench latency $M --input-len 512 --output-len 128 --num-iters 3 $K 2>&1 | grep -E "^\{|rror" | tee $OUT/w1.json
t "W2"; timeout 60 /tmp/sv bench throughput $M --num-prompts 256 --input-len 512 --output-len 128 $K 2>&1 | grep -E "^\{|rror" | tee $OUT/w2.json
t "W3"; timeout 60 /tmp/sv bench throughput $M --lengths-file .gpu/w3_lengths.json --num-prompts 500 $K 2>&1 | grep -E "^\{|rror" | tee $OUT/w3.json
t "serve start-up (dummy 8B, kernels cached)"
mkdir -p /tmp/l8 && cp benchmarks/configs/llama3-8b/config.json .gpu/gpt2/* /tmp/l8/
T0=$(date +%s%N); /tmp/sv serve /tmp/l8 --load-format dummy --port 18000 $K > $OUT/serve.log 2>&1 & P=$!
for i in $(seq 600); do curl -sf localhost:18000/health >/dev/null && break; sleep 0.05; done
echo "ready after $(( ($(date +%s%N) - T0) / 1000000 )) ms"; kill $P; wait $P 2>/dev/null
t "done"
