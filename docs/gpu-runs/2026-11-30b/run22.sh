#!/bin/bash
# H200: cuBLASLt's algorithm chosen by timing four candidates for every GEMM of 128 rows or more (the
# batch-256 decode steps' linears too): W2 / W3 with and without, decode attention on tensor cores.
export PYTHONUNBUFFERED=1 SWIFT_VLLM_DECODE_ATTENTION=mma
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; M="--model benchmarks/configs/llama3-8b --load-format dummy"
S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
for mode in tuned plain tuned plain; do
  t "W2 / W3 ($mode)"
  E="SWIFT_VLLM_PDL=1"; [ $mode = tuned ] && E="SWIFT_VLLM_GEMM_AUTOTUNE=1 SWIFT_VLLM_GEMM_AUTOTUNE_MIN_ROWS=128"
  env $E timeout 60 /tmp/sv bench throughput $M --num-prompts 256 --input-len 512 --output-len 128 $K 2>&1 | grep -E "^\{|rror" | tee -a $OUT/w-$mode.jsonl | python3 -c "import json,sys; d=json.loads(sys.stdin.read()); print(d['output_tokens_per_s'], d['gpu_ms_by_step'].get('decode 129+'))"
  env $E timeout 60 /tmp/sv bench throughput $M --lengths-file .gpu/w3_lengths.json --num-prompts 500 $K 2>&1 | grep -E "^\{|rror" | tee -a $OUT/w-$mode.jsonl | python3 -c "import json,sys; d=json.loads(sys.stdin.read()); print(d['requests_per_s'])"
done
t "done"
