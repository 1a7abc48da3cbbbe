#!/bin/bash
# H200: where linear_int4_wgmma's time goes. .gpu/int4exp = benchmarks/kernels/int4_gemm_bench.cu with variants of the
# kernel that leave one stage out (e_nox: no x copies, e_nodq: raw words as fragments, e_nomma: no wgmma, e_now: no
# weight copies; combinations: a scratch copy of the kernel, not kept), nvcc 13.0 -arch=sm_90a on the CPU machine.
# Then ncu on the full kernel (counters work on this kind with --clock-control none).
cp .gpu/int4exp /tmp/b && chmod +x /tmp/b
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm --format=csv
for MNK in "128 27648 5120" "128 5120 5120" "256 28672 4096" "64 27648 5120"; do
  timeout 60 /tmp/b $MNK 200 | sed 's/, sum [^,]*//; s/, max |diff|.*//'
done 2>&1 | tee $OUT/times.txt
for V in e0 w2e0; do
timeout 120 ncu --clock-control none --section SpeedOfLight --section MemoryWorkloadAnalysis --section WarpStateStats --section ComputeWorkloadAnalysis \
  -k regex:exp_variant --launch-skip 10 --launch-count 1 /tmp/b 128 27648 5120 20 $V > $OUT/ncu-$V.txt 2>&1
grep -E "Throughput|Busy|Pipe|Stall|Warp Cycles|L2 Hit|Bandwidth|Duration|Issued|Elapsed" $OUT/ncu-$V.txt | head -40
done
