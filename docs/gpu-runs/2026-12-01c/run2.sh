#!/bin/bash
# H200: linear_int4_gemm skipping the 8-token tiles past M (validTiles) against the kernel before it (git HEAD's
# linear_int4.cu), Qwen2.5-14B GPTQ-int4 shapes, decode batches 64–128; ncu's scheduler view of the new one.
L=$OUT; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
mkdir -p /tmp/old && cp Sources/VLLMCUDA/Kernels/* /tmp/old/ && git show HEAD:Sources/VLLMCUDA/Kernels/linear_int4.cu > /tmp/old/linear_int4.cu
nvcc -O3 -std=c++17 -arch=sm_90a -I /tmp/old -o /tmp/b-old benchmarks/kernels/int4_gemm_bench.cu || exit 1
nvcc -O3 -std=c++17 -arch=sm_90a -I Sources/VLLMCUDA/Kernels -o /tmp/b-new benchmarks/kernels/int4_gemm_bench.cu || exit 1
t built
for M in 64 80 100 128; do
  for shape in "7168 5120" "5120 5120" "27648 5120" "5120 13824"; do
    echo "old $(timeout 60 /tmp/b-old $M $shape 300 shipped)"
    echo "new $(timeout 60 /tmp/b-new $M $shape 300 shipped)"
  done
done | tee $L/times.txt
t timed
SECTIONS="--section SpeedOfLight --section WarpStateStats --section SchedulerStats --section Occupancy --section InstructionStats"
timeout 120 ncu --clock-control none -k regex:linear_int4_gemm_bf16 --launch-skip 10 --launch-count 1 $SECTIONS /tmp/b-new 100 27648 5120 20 shipped > $L/ncu-new-27648x5120.txt 2>&1
grep -E "Duration|Issue Slots|Eligible Warps|Warp Cycles Per Issued|Registers Per|Achieved Active" $L/ncu-new-27648x5120.txt
t done
