#!/bin/bash
# H200, session 22 run3: the one-pass norms and the quantizing SiLU·mul with CTAs taking rows in turn (the next row's loads
# in flight while this one is reduced; grid capped at 3 norm CTAs / 1 SiLU·mul CTA an SM), against the binary before
# (546dc76, .gpu/swift-vllm-old.xz), alternated. The elementwise harness (grids, against the ceiling); check-gpu; W2 of
# `--quantization fp8`, GPTQ-int4 and bf16; W1 GPTQ-int4.
source docs/gpu-runs/lib.sh
python3 -c "import lzma, shutil; shutil.copyfileobj(lzma.open('.gpu/swift-vllm-old.xz'), open('/tmp/sv-old', 'wb'))"
python3 -c "import lzma, shutil; shutil.copyfileobj(lzma.open('.gpu/elementwise.xz'), open('/tmp/elementwise', 'wb'))"
chmod +x /tmp/sv-old /tmp/elementwise; cp /tmp/sv /tmp/sv-new
old() { cp /tmp/sv-old /tmp/sv; "$@"; cp /tmp/sv-new /tmp/sv; }
t harness
timeout 120 /tmp/elementwise 30 > $L/elementwise.log 2>&1; echo "harness exit $?"; cat $L/elementwise.log
t check-gpu
timeout 170 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens > $L/check-gpu.log 2>$L/check-gpu.err; echo "check-gpu exit $?"
grep -E "FAIL|declined|greedy|all passed|failure|Error" $L/check-gpu.log | head -20
grep -E "^(rmsNorm|addRMSNorm|siluAndMul)" $L/check-gpu.log | head -40
t "W2 new / old alternated"
for i in 1 2; do
  w2 fp8-new-$i --model $B --quantization fp8
  old w2 fp8-old-$i --model $B --quantization fp8
done
w2 int4-new --model $I
old w2 int4-old --model $I
w2 bf16-new --model $B
old w2 bf16-old --model $B
t "W1 int4"
w1 int4-new --model $I
old w1 int4-old --model $I
w1 int4-new-again --model $I
finish
