#!/bin/bash
# H200: the engine with linear_int4_wgmma on the tensor memory accelerator. check-gpu (ops, the wgmma path forced at
# 33–250 tokens, the quantized goldens with graphs and eager, stories260K greedy), then bench-linear's 4-bit paths.
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; L=$OUT; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
t check-gpu
timeout 240 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens \
  > $L/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|greedy|all passed|failure" $L/check-gpu.log | head -12
grep -E "wgmma" $L/check-gpu.log | cut -c1-160 | head -12
t bench-linear
timeout 240 /tmp/sv check-gpu $K --skip-ops --bench-linear > $L/bench-linear.log 2>&1; echo "bench-linear exit $?"
grep -E " T (48|64|96|128|192|256) |qwen14b" $L/bench-linear.log | grep -v "k / v\|lm_head" | sed 's/linear.cu [^,]*, //; s/ GB\/s packed//g' | cut -c1-260
t done
# Kernel alone: .gpu/int4pipe = int4_gemm_bench.cu + the cp.async kernel ("old") + linear_int4_wgmma with two chunks'
# wgmmas in flight (p*: wait for the chunk before, not this one, then refill and dequantize).
cp .gpu/int4pipe /tmp/b && chmod +x /tmp/b
for MNK in "128 27648 5120" "100 27648 5120" "64 27648 5120" "100 7168 5120" "100 5120 5120" "100 5120 13824" "256 28672 4096" "192 28672 4096" "256 4096 14336"; do
  timeout 60 /tmp/b $MNK 200 | grep -E "wg|old|p1|p2" | sed 's/, sum [^,]*//; s/, max |diff| \/ max |ref|/ diff/; s/ TFLOP\/s.*diff/ TF, diff/'
done 2>&1 | tee $OUT/pipe.txt
t done-pipe
