#!/bin/bash
# H200, session 23 run5: the binary to land — split_qkv_rows two tokens a CTA (its loads for both issued first), on top
# of run4's hardware bf16 rounding. The split in the prefill harness against 70abc5d's (a token a CTA) and 3154d07's;
# check-gpu; W1 / W2 / W3 of every format (docs/benchmarks.md's figures).
source docs/gpu-runs/lib.sh
for h in prefill prefill-oldsplit prefill-split70; do
  python3 -c "import lzma, shutil; shutil.copyfileobj(lzma.open('.gpu/$h.xz'), open('/tmp/$h', 'wb'))"; chmod +x /tmp/$h
done
t harness
timeout 60 /tmp/prefill 20 split > $L/prefill.log 2>&1; echo "exit $?"; cat $L/prefill.log
timeout 60 /tmp/prefill-split70 20 > $L/prefill-split70.log 2>&1; echo "exit $?"; cat $L/prefill-split70.log
timeout 60 /tmp/prefill-oldsplit 20 > $L/prefill-oldsplit.log 2>&1; echo "exit $?"; cat $L/prefill-oldsplit.log
t W2
w2 fp8 --model $B --quantization fp8
w2 fp8-again --model $B --quantization fp8
t check-gpu
timeout 200 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens > $L/check-gpu.log 2>$L/check-gpu.err; echo "check-gpu exit $?"
grep -E "FAIL|declined|greedy|all passed|failure|Error" $L/check-gpu.log | head -20
grep -E "^splitQKV.* T(200|100|71) " $L/check-gpu.log | head -30
t W1
w1 int4 --model $I
w1 fp8 --model $B --quantization fp8
w1 q14 --model $Q --kv-cache-dtype fp8
w1 bf16 --model $B
t "W2, the others"
w2 int4 --model $I
w2 bf16 --model $B
w2 q14 --model $Q --kv-cache-dtype fp8
t W3
w3 int4 --model $I
w3 fp8 --model $B --quantization fp8
finish
