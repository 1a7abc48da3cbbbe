#!/bin/bash
# H200: where the deployment shape's decode time goes at ~100 sequences (run3c: HTTP chat, 100 concurrent, vLLM 7,572
# tok/s against our 4,914): a decode profile by op at batch 1 and 100 (context 512), and the offline engine on 100 ×
# (48 → 128) with gpu_ms_by_step, with the 4-bit GEMM and without it (SWIFT_VLLM_INT4_GEMM_MAX_TOKENS=0).
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; Q="--model benchmarks/configs/qwen2.5-14b-gptq-int4 --load-format dummy"
S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
t "profile"
timeout 200 /tmp/sv check-gpu $K --skip-ops $Q --profile-decode 1 100 > $OUT/profile.log 2>&1 || tail -5 $OUT/profile.log
grep -A24 "^decode" $OUT/profile.log | head -60
for e in X=1 SWIFT_VLLM_INT4_GEMM_MAX_TOKENS=0; do
  t "bench throughput 100 x 48->128 ($e)"
  env $e timeout 120 /tmp/sv bench throughput $Q --kv-cache-dtype fp8 --quantization gptq_marlin --num-prompts 100 \
    --input-len 48 --output-len 128 $K 2>/dev/null | grep -E "^\{" | tee -a $OUT/throughput.jsonl | python3 -c "
import json,sys; d=json.loads(sys.stdin.read()); print('output tok/s', round(d['output_tokens_per_s']), 'steps', d['steps'], json.dumps(d['gpu_ms_by_step']), 'host', json.dumps(d['host_ms_per_step']))"
done
t done
