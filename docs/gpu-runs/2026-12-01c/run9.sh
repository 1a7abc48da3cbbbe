#!/bin/bash
# H200, the final binary (the f32-logits GEMM at width 8 only): every op against the CPU once more, and the
# offline deployment-shape throughput (100 x 48 -> 128) for the record.
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
timeout 200 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K > $OUT/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|greedy .gpu|all passed" $OUT/check-gpu.log | head -8; grep -c "linear int4" $OUT/check-gpu.log
t "bench throughput 100 x 48->128"
timeout 120 /tmp/sv bench throughput --model benchmarks/configs/qwen2.5-14b-gptq-int4 --load-format dummy --kv-cache-dtype fp8 \
  --quantization gptq_marlin --num-prompts 100 --input-len 48 --output-len 128 $K 2>/dev/null | grep -E "^\{" | tee $OUT/throughput.jsonl \
  | python3 -c "import json,sys; d=json.loads(sys.stdin.read()); print('output tok/s', round(d['output_tokens_per_s']))"
t done
