#!/bin/bash
# H200: linear_int4.cu with 8 rows a CTA where 16 would leave fewer than 3 CTAs an SM (narrow linears), against 16
# everywhere (SWIFT_VLLM_INT4_ROWS=16), one binary: the ops against the CPU (auto), bench-linear and W1 both ways.
# Not kept (the switch was removed after this run): 8 rows made q/o 9.5 → 12.3 µs, down 19.6 → 31.6 µs and W1
# TPOT 2.74 → 3.35 ms.
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"
timeout 200 /tmp/sv check-gpu $K > $OUT/check-gpu.log 2>&1; echo "check-gpu exit $?"; grep -E "FAIL|all passed" $OUT/check-gpu.log | head -3
for rows in 16 auto; do
  export SWIFT_VLLM_INT4_ROWS=$rows
  timeout 120 /tmp/sv check-gpu $K --skip-ops --bench-linear > $OUT/bench-linear-$rows.log 2>&1
  grep -E " T (1|8) " $OUT/bench-linear-$rows.log | sed 's/: linear.cu.*int4/: int4/' | sed "s/^/rows=$rows /"
  for m in "llama3-8b-gptq-int4 auto" "qwen2.5-14b-gptq-int4 fp8"; do
    set -- $m
    timeout 90 /tmp/sv bench latency --model benchmarks/configs/$1 --load-format dummy --kv-cache-dtype $2 --input-len 512 --output-len 128 --num-iters 5 $K 2>/dev/null | grep -E "^\{" | python3 -c "import json,sys; d=json.loads(sys.stdin.read()); print('rows=$rows $1 W1 TPOT', round(d['tpot_ms_median'],3))"
  done
done
