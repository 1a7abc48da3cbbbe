#!/bin/bash
# H200, session 18 run2: linear_int4_lean / lean2 (benchmarks/kernels/int4_decode_bench.cu: the grouped step with
# its per-step overhead cut, a register ring of BUFS stages, scale and zero as one pair) against linear_int4_small,
# kernel alone, 1 and 8 tokens; ncu's warp state for small and lean2 b2 w16 on Llama-3-8B down at one token.
cp .gpu/int4decode /tmp/d && chmod +x /tmp/d
timeout 150 /tmp/d 200 > $OUT/kernel.txt 2>&1; echo "int4decode rc=$?"; cat $OUT/kernel.txt
for v in 0 4; do
  timeout 100 ncu --clock-control none --section WarpStateStats --section SchedulerStats --section Occupancy \
    --section SpeedOfLight --section InstructionStats -k regex:linear_int4 --launch-skip 3 --launch-count 1 \
    /tmp/d 1 3 1 $v > $OUT/ncu-$v-3.txt 2>&1; echo "ncu $v rc=$?"
  grep -E "Duration|DRAM Throughput|Warp Cycles Per Issued|Issued Warp|Achieved Active|Executed Instructions  " $OUT/ncu-$v-3.txt
done
