#!/bin/bash
# H200, session 23 run2: prefill_attention_wgmma_bf16_d128 with P·V on the warpgroup MMA too (V transposed in shared
# memory by ldmatrix / stmatrix.trans), against S alone on it (instantiated in the harness) and the mma.sync kernel;
# split_qkv_rows a unit a thread (448 threads at Llama-3-8B) against 3154d07's (prefill-oldsplit); ncu on the new
# attention kernel; check-gpu; W2 / W1 with SWIFT_VLLM_PREFILL_WGMMA=0 alternated.
source docs/gpu-runs/lib.sh
for h in prefill prefill-oldsplit; do
  python3 -c "import lzma, shutil; shutil.copyfileobj(lzma.open('.gpu/$h.xz'), open('/tmp/$h', 'wb'))"; chmod +x /tmp/$h
done
t harness
timeout 120 /tmp/prefill 20 > $L/prefill.log 2>&1; echo "exit $?"; cat $L/prefill.log
timeout 60 /tmp/prefill-oldsplit 20 > $L/prefill-oldsplit.log 2>&1; echo "exit $?"; cat $L/prefill-oldsplit.log
t ncu
NCU=$(command -v ncu || ls /usr/local/cuda/bin/ncu /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)
timeout 100 $NCU --clock-control none --section SpeedOfLight --section WarpStateStats --section Occupancy --section SchedulerStats \
  --metrics "regex:smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio" \
  -k regex:prefill_attention_wgmma_bf16 /tmp/prefill 1 once > $L/ncu-attention.txt 2>&1; echo "ncu exit $?"
grep -E "stalled_(barrier|long|short|wait|math|mio|gmma|lg)|Duration|Issue Slots Busy|Eligible Warps|Spilling Requests " $L/ncu-attention.txt
t check-gpu
timeout 200 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens > $L/check-gpu.log 2>$L/check-gpu.err; echo "check-gpu exit $?"
grep -E "FAIL|declined|greedy|all passed|failure|Error" $L/check-gpu.log | head -20
grep -E "prefill-|splitQKV\+rotary .*T(200|100|70)" $L/check-gpu.log | head -40
t "W2 / W1: wgmma, then SWIFT_VLLM_PREFILL_WGMMA=0"
mma() { export SWIFT_VLLM_PREFILL_WGMMA=0; "$@"; unset SWIFT_VLLM_PREFILL_WGMMA; }
for i in 1 2; do
  w2 fp8-wg-$i --model $B --quantization fp8
  mma w2 fp8-mma-$i --model $B --quantization fp8
done
w2 bf16-wg --model $B
mma w2 bf16-mma --model $B
w2 int4-wg --model $I
mma w2 int4-mma --model $I
w1 fp8-wg --model $B --quantization fp8
mma w1 fp8-mma --model $B --quantization fp8
w1 int4-wg --model $I
finish
