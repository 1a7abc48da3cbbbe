#!/bin/bash
# H200, session 23 run3: the binary to land — prefill_attention_wgmma_bf16_d128 with S alone on the warpgroup MMA (run2's
# "wgmma S", its wgmmas now on no divergent path) and split_qkv_rows a unit a thread. The prefill harness (with a
# two-tokens-a-CTA split beside the landed one) and 3154d07's split; ncu on the split; check-gpu; W1 / W2 / W3 of every
# format (the figures for docs/benchmarks.md).
source docs/gpu-runs/lib.sh
for h in prefill prefill-oldsplit; do
  python3 -c "import lzma, shutil; shutil.copyfileobj(lzma.open('.gpu/$h.xz'), open('/tmp/$h', 'wb'))"; chmod +x /tmp/$h
done
t harness
timeout 120 /tmp/prefill 20 > $L/prefill.log 2>&1; echo "exit $?"; cat $L/prefill.log
timeout 60 /tmp/prefill-oldsplit 20 > $L/prefill-oldsplit.log 2>&1; echo "exit $?"; cat $L/prefill-oldsplit.log
t ncu
NCU=$(command -v ncu || ls /usr/local/cuda/bin/ncu /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)
timeout 100 $NCU --clock-control none --section SpeedOfLight --section MemoryWorkloadAnalysis --section WarpStateStats \
  --section Occupancy --section LaunchStats --section SchedulerStats \
  --metrics "regex:smsp__average_warps_issue_stalled_.*_per_issue_active\.ratio" \
  -k regex:split_qkv_rows --launch-count 2 /tmp/prefill 1 split > $L/ncu-split.txt 2>&1; echo "ncu exit $?"
grep -vE "^==PROF==|^ +-+ +-+|^$" $L/ncu-split.txt | grep -vE " 0(\.0+)?$" | grep -E "split_qkv|stalled|Duration|Throughput|Busy|Eligible|Occupancy|Hit Rate|Registers|Waves" | head -80
t check-gpu
timeout 200 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens > $L/check-gpu.log 2>$L/check-gpu.err; echo "check-gpu exit $?"
grep -E "FAIL|declined|greedy|all passed|failure|Error" $L/check-gpu.log | head -20
grep -E "^pagedAttention +prefill-" $L/check-gpu.log | head -20
t W1
w1 int4 --model $I
w1 fp8 --model $B --quantization fp8
w1 q14 --model $Q --kv-cache-dtype fp8
w1 bf16 --model $B
t W2
w2 fp8 --model $B --quantization fp8
w2 int4 --model $I
w2 bf16 --model $B
w2 q14 --model $Q --kv-cache-dtype fp8
w2 fp8-again --model $B --quantization fp8
t W3
w3 int4 --model $I
w3 fp8 --model $B --quantization fp8
finish
