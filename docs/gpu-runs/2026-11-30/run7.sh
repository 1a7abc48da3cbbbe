#!/bin/bash
# H200, session 2 first call: vLLM's step-limit defaults (16384 tokens / 1024 sequences offline on a
# ≥ 70 GiB GPU) against the old 8192 / 256, with the host's time per step (host_ms_per_step).
export PYTHONUNBUFFERED=1
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; M="--model benchmarks/configs/llama3-8b --load-format dummy"
S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
nproc; lscpu | grep "Model name"
t "W1"
timeout 90 /tmp/sv bench latency $M --input-len 512 --output-len 128 --num-iters 5 $K 2>&1 | grep -E "^\{|rror" | tee $OUT/w.jsonl
t "W2 defaults, then 8192/256"
timeout 60 /tmp/sv bench throughput $M --num-prompts 256 --input-len 512 --output-len 128 $K 2>&1 | grep -E "^\{|rror|KV cache" | tee -a $OUT/w.jsonl
timeout 60 /tmp/sv bench throughput $M --num-prompts 256 --input-len 512 --output-len 128 --max-num-batched-tokens 8192 --max-num-seqs 256 $K 2>&1 | grep -E "^\{|rror" | tee -a $OUT/w.jsonl
t "W3 defaults, then 8192/256"
timeout 60 /tmp/sv bench throughput $M --lengths-file .gpu/w3_lengths.json --num-prompts 500 $K 2>&1 | grep -E "^\{|rror" | tee -a $OUT/w.jsonl
timeout 60 /tmp/sv bench throughput $M --lengths-file .gpu/w3_lengths.json --num-prompts 500 --max-num-batched-tokens 8192 --max-num-seqs 256 $K 2>&1 | grep -E "^\{|rror" | tee -a $OUT/w.jsonl
t "profile decode 512 1024"
timeout 90 /tmp/sv check-gpu $K --skip-ops $M --profile-decode 256 512 1024 > $OUT/profile.log 2>&1
grep -E "^prefill|^decode|attention|rror" $OUT/profile.log | head -20
t "done"
