#!/bin/bash
# H200: linear_int4_wgmma with x and the weight loaded by the tensor memory accelerator (mbarrier-counted stages,
# the freed stage refilled at the top of a step) beside the cp.async version it replaces ("old", session 12's
# kernel, same tile) and other tiles. .gpu/int4tma = benchmarks/kernels/int4_gemm_bench.cu + the old kernel, nvcc 13.0.
cp .gpu/int4tma /tmp/b && chmod +x /tmp/b
for MNK in "128 27648 5120" "100 27648 5120" "64 27648 5120" "100 7168 5120" "100 5120 5120" "100 5120 13824" "256 28672 4096" "192 28672 4096" "256 4096 14336" "192 4096 14336"; do
  timeout 60 /tmp/b $MNK 200 | grep -E "shipped|wg|old" | sed 's/, sum [^,]*//'
done 2>&1 | tee $OUT/times.txt
timeout 120 ncu --clock-control none --section SpeedOfLight --section WarpStateStats --section ComputeWorkloadAnalysis \
  -k regex:linear_int4_wgmma --launch-skip 10 --launch-count 1 /tmp/b 128 27648 5120 20 wgmma > $OUT/ncu-wgmma.txt 2>&1
grep -E "Throughput|Busy|Warp Cycles|Duration|Issued|Elapsed|Active" $OUT/ncu-wgmma.txt | head -20
