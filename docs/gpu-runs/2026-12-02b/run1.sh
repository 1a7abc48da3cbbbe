#!/bin/bash
# H200, session 18 run1: linear_int4_pipe (benchmarks/kernels/int4_decode_bench.cu: the 4-bit decode step fed by a
# per-warp cp.async ring of D stages, x one step ahead, the MMA chains split) against linear_int4_small, kernel alone,
# Llama-3-8B and Qwen2.5-14B linears at 1 and 8 tokens; then ncu's warp-state and memory sections for both on
# Llama-3-8B gate_up and down at one token.
cp .gpu/int4decode /tmp/d && chmod +x /tmp/d
nvidia-smi --query-gpu=name,clocks.max.sm,clocks.max.mem --format=csv,noheader
timeout 150 /tmp/d 200 > $OUT/kernel.txt 2>&1; echo "int4decode rc=$?"; cat $OUT/kernel.txt
for s in 2 3; do
  timeout 100 ncu --clock-control none --section WarpStateStats --section SchedulerStats --section Occupancy \
    --section MemoryWorkloadAnalysis --section SpeedOfLight -k regex:linear_int4 --launch-skip 3 --launch-count 1 \
    /tmp/d 1 $s 1 0 > $OUT/ncu-small-$s.txt 2>&1; echo "ncu small $s rc=$?"
  timeout 100 ncu --clock-control none --section WarpStateStats --section SchedulerStats --section Occupancy \
    --section MemoryWorkloadAnalysis --section SpeedOfLight -k regex:linear_int4 --launch-skip 3 --launch-count 1 \
    /tmp/d 1 $s 1 2 > $OUT/ncu-pipe-$s.txt 2>&1; echo "ncu pipe $s rc=$?"
done
for f in $OUT/ncu-*.txt; do echo "== $f"; grep -E "Duration|DRAM Throughput|Memory Throughput|Warp Cycles Per Issued|Issued Warp|No Eligible|Achieved Occupancy|Theoretical Occupancy|Registers|Stall|One or More|Active Warps" $f | head -30; done
