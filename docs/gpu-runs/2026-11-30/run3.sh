#!/bin/bash
# H200, third call: every op (new: decode attention merging its partitions in-kernel, greedy argmax,
# splitQKV for prefills), stories260K GPU = CPU; qwen2.5-0.5b teacher-forced against transformers with
# transformers' own variants (cuBLASLt, one decode step per position) and ours with each new decode kernel
# switched off in turn; the Llama-3-8B profile; W1 / W2 / W3.
export PYTHONUNBUFFERED=1
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; M="--model benchmarks/configs/llama3-8b --load-format dummy"
S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
t "check-gpu ops + stories260K greedy"
timeout 150 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K > $OUT/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|greedy|all passed|failure|rror" $OUT/check-gpu.log | head -20
t "W1 / W2 / W3"
timeout 60 /tmp/sv bench latency $M --input-len 512 --output-len 128 --num-iters 5 $K 2>&1 | grep -E "^\{|rror" | tee $OUT/w.jsonl
timeout 60 /tmp/sv bench throughput $M --num-prompts 256 --input-len 512 --output-len 128 $K 2>&1 | grep -E "^\{|rror" | tee -a $OUT/w.jsonl
timeout 60 /tmp/sv bench throughput $M --lengths-file .gpu/w3_lengths.json --num-prompts 500 $K 2>&1 | grep -E "^\{|rror" | tee -a $OUT/w.jsonl
t "profile"
timeout 90 /tmp/sv check-gpu $K --skip-ops $M --profile-decode 1 64 256 > $OUT/profile.log 2>&1
grep -E "^prefill|^decode|attention|sample|argmax|split" $OUT/profile.log | head -30
t "qwen2.5-0.5b: transformers' variants, then ours with each decode kernel off in turn"
(python3 .gpu/hf_peer.py --shape qwen2.5-0.5b --only none --save /tmp/qwen && \
 python3 .gpu/gpu_reference.py /tmp/qwen /tmp/qr --variants bf16,bf16-lt,bf16-incremental,bf16-batch2,f32) > $OUT/qwen-ref.log 2>&1
grep -E '^\{"a"' $OUT/qwen-ref.log
R="--reference /tmp/qr/bf16/reference.json --reference /tmp/qr/bf16-lt/reference.json --reference /tmp/qr/bf16-incremental/reference.json"
for env in "" "SWIFT_VLLM_SMALL_LINEAR=0" "SWIFT_VLLM_DECODE_ATTENTION=0" "SWIFT_VLLM_SMALL_LINEAR=0 SWIFT_VLLM_DECODE_ATTENTION=0"; do
  echo "== ours ${env:-(default)}" | tee -a $OUT/qwen.log
  env $env timeout 60 /tmp/sv check-gpu $K --skip-ops --model /tmp/qwen $R 2>&1 | grep -E "teacher|against|greedy" | tee -a $OUT/qwen.log
done
t "done"
