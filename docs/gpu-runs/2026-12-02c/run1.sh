#!/bin/bash
# H200, session 19 run1: linear_int4_wgmma as stream-K (the step's tile × 128-k units spread evenly over one wave of
# CTAs, a tile's parts added by its last CTA) against the rule before it (whole tiles, K split s ways), in one binary
# (SWIFT_VLLM_INT4_WGMMA_CTAS=splits) and in the kernel harness (variants wgmma / wgsplit; the two-warpgroup tiles
# wg2n256s3 / wg2n192s3 on every linear at 129–256 tokens; one CTA an SM for the one-warpgroup tiles), then check-gpu.
# The kernel it ran is the first stream-K version, not committed (it computed each unit's tile with two integer
# divisions); 183f7e4 holds the second, which run2 and run3 measured.
source docs/gpu-runs/lib.sh
gunzip -c .gpu/int4bench.gz > /tmp/b && chmod +x /tmp/b
nvidia-smi --query-gpu=name,clocks.max.sm,clocks.max.mem --format=csv,noheader
t kernel alone
for shape in "6144 4096" "4096 4096" "28672 4096" "4096 14336" "7168 5120" "5120 5120" "27648 5120" "5120 13824"; do
  for m in 64 100 128 192 256; do
    if [ $m -gt 128 ]; then v=wgmma,wgsplit,wg2n256s3,wg2n192s3; else v=wgmma,wgsplit; fi
    timeout 30 /tmp/b $m $shape 100 $v | grep -v shipped
  done
  for m in 64 128; do timeout 30 /tmp/b $m $shape 100 wgmma 132 | grep -v shipped | sed 's/^/ctas132 /'; done
done 2>&1 | tee $L/kernel.txt
t W2, W3
w2 warm --model $I
w2 int4 --model $I
SWIFT_VLLM_INT4_WGMMA_CTAS=splits w2 int4-splits --model $I
w2 int4-again --model $I
SWIFT_VLLM_INT4_WGMMA_CTAS=splits w2 int4-splits-again --model $I
w2 qwen14b --model $Q --kv-cache-dtype fp8
SWIFT_VLLM_INT4_WGMMA_CTAS=splits w2 qwen14b-splits --model $Q --kv-cache-dtype fp8
w3 int4 --model $I
SWIFT_VLLM_INT4_WGMMA_CTAS=splits w3 int4-splits --model $I
t check-gpu
timeout 200 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens > $L/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|greedy .*pass|all passed|failure|Error" $L/check-gpu.log | head -12
grep -E "wgmma" $L/check-gpu.log | head -30
finish
