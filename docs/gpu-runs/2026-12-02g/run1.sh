#!/bin/bash
# H200, session 23 run1: prefill_attention with S = Q·Kᵀ on the warpgroup MMA (prefill_attention_wgmma_bf16_d128) against
# the mma.sync kernel, and split_qkv_rows reading the rotary table 16 bytes a load, in the prefill harness
# (benchmarks/kernels/prefill_bench.cu; the split before the change as prefill-oldsplit, built from 3154d07's kernels);
# ncu on both attention kernels; check-gpu; W2 `--quantization fp8` and bf16, W1, with SWIFT_VLLM_PREFILL_WGMMA=0 alternated.
source docs/gpu-runs/lib.sh
for h in prefill prefill-oldsplit; do
  python3 -c "import lzma, shutil; shutil.copyfileobj(lzma.open('.gpu/$h.xz'), open('/tmp/$h', 'wb'))"; chmod +x /tmp/$h
done
t harness
timeout 120 /tmp/prefill 20 > $L/prefill.log 2>&1; echo "exit $?"; cat $L/prefill.log
timeout 60 /tmp/prefill-oldsplit 20 > $L/prefill-oldsplit.log 2>&1; echo "exit $?"; cat $L/prefill-oldsplit.log
t ncu
NCU=$(command -v ncu || ls /usr/local/cuda/bin/ncu /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)
timeout 150 $NCU --clock-control none --section SpeedOfLight --section WarpStateStats --section ComputeWorkloadAnalysis \
  --section Occupancy --section MemoryWorkloadAnalysis --section SchedulerStats \
  --metrics "regex:smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio" \
  -k regex:prefill_attention /tmp/prefill 1 once > $L/ncu-attention.txt 2>&1; echo "ncu exit $?"
grep -vE "^==PROF==|^ +-+ +-+|^$" $L/ncu-attention.txt | grep -vE " 0(\.0+)?$" | head -200
t check-gpu
timeout 200 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens > $L/check-gpu.log 2>$L/check-gpu.err; echo "check-gpu exit $?"
grep -E "FAIL|declined|greedy|all passed|failure|Error" $L/check-gpu.log | head -20
grep -E "prefill-" $L/check-gpu.log | head -40
t "W2 / W1: wgmma S, then SWIFT_VLLM_PREFILL_WGMMA=0"
mma() { export SWIFT_VLLM_PREFILL_WGMMA=0; "$@"; unset SWIFT_VLLM_PREFILL_WGMMA; }
for i in 1 2; do
  w2 fp8-wg-$i --model $B --quantization fp8
  mma w2 fp8-mma-$i --model $B --quantization fp8
done
w2 bf16-wg --model $B
mma w2 bf16-mma --model $B
w1 fp8-wg --model $B --quantization fp8
mma w1 fp8-mma --model $B --quantization fp8
finish
