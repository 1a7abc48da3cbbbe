#!/bin/bash
# H200, session 21 run1:
#  - linear_fp8_small takes the decode linears' epilogues (SiLU·mul, the residual add, the q/k/v split): check-gpu's
#    fusedLinear rows for fp8 weights, W1 of `--quantization fp8` with the folds and without (SWIFT_VLLM_FUSED_LINEAR=0);
#  - cuBLASLt's heuristic answers timed at a bucket's first eager matmul (BlasLtMatmul.tune, SWIFT_VLLM_BLASLT_TUNE=8)
#    against its first answer alone (=1): W2 of fp8, bf16 and GPTQ-int4 (its prefill is dequantize + cuBLASLt), each
#    choice logged (SWIFT_VLLM_BLASLT_LOG=1: the first answer's µs against the fastest's);
#  - where fp8 W2's GPU time goes op by op (bench throughput --profile: an event after each op, no graphs), and a
#    batch-1 decode step of GPTQ-int4 op by op (check-gpu --profile-decode 1).
# (The folds in linear_fp8_small and the timing of cuBLASLt's candidates were removed after run2: docs/benchmarks.md,
# session 21. Their binary is not the landed one.)
source docs/gpu-runs/lib.sh
t check-gpu
timeout 200 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens > $L/check-gpu.log 2>$L/check-gpu.err; echo "check-gpu exit $?"
grep -E "FAIL|declined|greedy|all passed|failure|Error" $L/check-gpu.log | head -20
grep -E "fusedLinear.*fp8" $L/check-gpu.log | awk '{print $1, $NF}' | sort | uniq -c | head
t "W1 fp8, folds on / off"
w1 fp8 --model $B --quantization fp8
SWIFT_VLLM_FUSED_LINEAR=0 w1 fp8-unfused --model $B --quantization fp8
w1 fp8-again --model $B --quantization fp8
t "W2, heuristic's first (TUNE=1) against the fastest of 8 timed (TUNE=8)"
for m in "fp8 --model $B --quantization fp8" "bf16 --model $B" "int4 --model $I"; do
  set -- $m; n=$1; shift
  SWIFT_VLLM_BLASLT_TUNE=1 w2 $n-first "$@"
  SWIFT_VLLM_BLASLT_TUNE=8 SWIFT_VLLM_BLASLT_LOG=1 w2 $n-tuned "$@"
  grep "^cuBLASLt" $L/$n-tuned-w2.log | grep -v "its first)"
done
t "fp8 W2 op by op (--profile)"
timeout 100 /tmp/sv bench throughput --model $B --quantization fp8 --load-format dummy --num-prompts 256 --input-len 512 --output-len 128 $K --profile > $L/fp8-profile.json 2>$L/fp8-profile.log
grep -A22 "^GPU" $L/fp8-profile.log
t "batch-1 decode step op by op, GPTQ-int4"
timeout 60 /tmp/sv check-gpu $K --skip-ops --model $I --load-format dummy --profile-decode 1 > $L/int4-decode-profile.log 2>&1
grep -A30 "^decode" $L/int4-decode-profile.log
finish
