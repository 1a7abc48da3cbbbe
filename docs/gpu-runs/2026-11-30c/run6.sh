#!/bin/bash
# H200: linear_int4.cu's grouped kernel with each warp's iterations software-pipelined (SWIFT_VLLM_INT4_PIPELINE=1)
# against the unpipelined one, one binary: the int4 ops against the CPU both ways, bench-linear both ways, W1 of
# the Llama-3-8B GPTQ-int4 shape both ways. Not kept (the binary was built from a tree with the variant, which
# was then removed): larger linears 4–14 % faster, small ones 35–50 % slower (fewer warps), W1 TPOT 2.87 vs 2.83 ms.
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"
for p in 0 1; do
  if [ $p = 1 ]; then  # the unpipelined kernel passed in run4's build; this checks the pipelined one
    SWIFT_VLLM_INT4_PIPELINE=$p timeout 200 /tmp/sv check-gpu $K > $OUT/check-gpu-$p.log 2>&1; echo "pipeline=$p check-gpu exit $?"
    grep -E "FAIL" $OUT/check-gpu-$p.log | head -3; grep -cE "linear int4 .* pass" $OUT/check-gpu-$p.log
  fi
  SWIFT_VLLM_INT4_PIPELINE=$p timeout 150 /tmp/sv check-gpu $K --skip-ops --bench-linear > $OUT/bench-linear-$p.log 2>&1
  grep -E " T (1|8) " $OUT/bench-linear-$p.log | sed 's/: linear.cu.*int4/: int4/'
  SWIFT_VLLM_INT4_PIPELINE=$p timeout 90 /tmp/sv bench latency --model benchmarks/configs/llama3-8b-gptq-int4 --load-format dummy --input-len 512 --output-len 128 --num-iters 5 $K 2>/dev/null | grep -E "^\{"
  SWIFT_VLLM_INT4_PIPELINE=$p timeout 90 /tmp/sv bench latency --model benchmarks/configs/qwen2.5-14b-gptq-int4 --load-format dummy --kv-cache-dtype fp8 --input-len 512 --output-len 128 --num-iters 5 $K 2>/dev/null | grep -E "^\{"
done
