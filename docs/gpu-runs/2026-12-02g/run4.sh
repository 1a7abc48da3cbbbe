#!/bin/bash
# H200, session 23 run4: f32 → bf16 by the hardware's cvt.rn.bf16(x2).f32 (common.cuh's f32_to_bf16, pack_bf16, store8)
# instead of integer rounding, in every kernel. The harnesses built against the new kernels and against 3154d07's
# (elementwise: the norms and SiLU·mul; prefill: the split); check-gpu; W2 / W1 against fc11303's binary
# (.gpu/swift-vllm-old.xz), alternated.
source docs/gpu-runs/lib.sh
python3 -c "import lzma, shutil; shutil.copyfileobj(lzma.open('.gpu/swift-vllm-old.xz'), open('/tmp/sv-old', 'wb'))"
for h in prefill prefill-oldsplit elementwise elementwise-old; do
  python3 -c "import lzma, shutil; shutil.copyfileobj(lzma.open('.gpu/$h.xz'), open('/tmp/$h', 'wb'))"; chmod +x /tmp/$h
done
chmod +x /tmp/sv-old; cp /tmp/sv /tmp/sv-new
old() { cp /tmp/sv-old /tmp/sv; "$@"; cp /tmp/sv-new /tmp/sv; }
t harness
timeout 60 /tmp/prefill 20 split > $L/prefill.log 2>&1; echo "exit $?"; cat $L/prefill.log
timeout 60 /tmp/prefill-oldsplit 20 > $L/prefill-oldsplit.log 2>&1; echo "exit $?"; cat $L/prefill-oldsplit.log
timeout 90 /tmp/elementwise 20 > $L/elementwise.log 2>&1; echo "exit $?"; cat $L/elementwise.log
timeout 90 /tmp/elementwise-old 20 > $L/elementwise-old.log 2>&1; echo "exit $?"; cat $L/elementwise-old.log
t check-gpu
timeout 200 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens > $L/check-gpu.log 2>$L/check-gpu.err; echo "check-gpu exit $?"
grep -E "FAIL|declined|greedy|all passed|failure|Error" $L/check-gpu.log | head -20
t "W2 / W1: new, then fc11303"
for i in 1 2; do
  w2 fp8-new-$i --model $B --quantization fp8
  old w2 fp8-old-$i --model $B --quantization fp8
done
w2 bf16-new --model $B
old w2 bf16-old --model $B
w2 int4-new --model $I
old w2 int4-old --model $I
w1 fp8-new --model $B --quantization fp8
old w1 fp8-old --model $B --quantization fp8
finish
