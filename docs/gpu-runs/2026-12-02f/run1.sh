#!/bin/bash
# H200, session 22 run1: the ops between a prefill's linears. The elementwise harness (norms a warp a row against a row a
# CTA, SiLU·mul quantizing with and without its bf16 out, against a streaming ceiling); check-gpu (the warp-a-row norm
# against the CPU, the codes-only hand-off bit for bit and refused where a kernel comes between); W2 with the new norm and
# codes-only (default) against both off (SWIFT_VLLM_NORM_ROWS_MIN=0 SWIFT_VLLM_CODES_ONLY=0), alternated; W1 GPTQ-int4.
source docs/gpu-runs/lib.sh
python3 -c "import lzma, shutil; shutil.copyfileobj(lzma.open('.gpu/elementwise.xz'), open('/tmp/elementwise', 'wb'))"; chmod +x /tmp/elementwise
t harness
timeout 120 /tmp/elementwise 30 > $L/elementwise.log 2>&1; echo "harness exit $?"; cat $L/elementwise.log
t check-gpu
timeout 170 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens > $L/check-gpu.log 2>$L/check-gpu.err; echo "check-gpu exit $?"
grep -E "FAIL|declined|greedy|all passed|failure|Error" $L/check-gpu.log | head -20
grep -E "codes only|refused|N2048 D4096|N300 D5120|N257|N256 D6144" $L/check-gpu.log | head -30
t "W2 fp8 new / old alternated"
w2 fp8 --model $B --quantization fp8
SWIFT_VLLM_NORM_ROWS_MIN=0 SWIFT_VLLM_CODES_ONLY=0 w2 fp8-old --model $B --quantization fp8
w2 fp8-again --model $B --quantization fp8
SWIFT_VLLM_NORM_ROWS_MIN=0 SWIFT_VLLM_CODES_ONLY=0 w2 fp8-old-again --model $B --quantization fp8
t "W2 bf16, int4 new / old"
w2 bf16 --model $B
SWIFT_VLLM_NORM_ROWS_MIN=0 w2 bf16-old --model $B
w2 int4 --model $I
SWIFT_VLLM_NORM_ROWS_MIN=0 w2 int4-old --model $I
w1 int4 --model $I
finish
