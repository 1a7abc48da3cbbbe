#!/bin/bash
# H200: linear_int4_stream (tensor-map stages, as run2) kernel alone against linear_int4_small on Llama-3-8B's and
# Qwen2.5-14B's linears at 1 and 8 tokens (benchmarks/kernels/int4_decode_bench.cu, .gpu/int4decode), with a variant
# whose consumers only wait and release (the copies alone); then ncu on the stream kernel and the small kernel at
# Llama-3-8B's qkv shape (the harness's first) to see where the stream kernel's time goes.
cp .gpu/int4decode /tmp/d && chmod +x /tmp/d
timeout 200 /tmp/d 200 > $OUT/kernel.txt 2>&1; echo "int4decode rc=$?"; cat $OUT/kernel.txt
for k in linear_int4_stream_bf16_r32 stream_copy_only linear_int4_small_g128; do
  timeout 100 ncu --clock-control none --section SpeedOfLight --section MemoryWorkloadAnalysis --section WarpStateStats \
    --section LaunchStats --section Occupancy -k regex:$k --launch-skip 10 --launch-count 1 /tmp/d 20 > $OUT/ncu-$k.txt 2>&1
  echo "== $k"; grep -E "Throughput|Stall|Warp Cycles|Bandwidth|Duration|Elapsed|Registers|Shared Memory Config|Achieved Occ|Waves" $OUT/ncu-$k.txt | head -30
done
