#!/bin/bash
# H200: where linear_int4_gemm's time goes on the Qwen2.5-14B GPTQ-int4 shapes at decode batches of 64–128 (the
# deployment's ~100 sequences): benchmarks/kernels/int4_gemm_bench.cu (nvcc, the kernel file unchanged) times the
# shipped tile and four others of the same code; Nsight Compute reads the shipped one on gate_up and down at M = 100.
cd "$(dirname "$0")/../../.." 2>/dev/null || true
L=$OUT; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,clocks.mem --format=csv,noheader
nvcc -O3 -std=c++17 -arch=sm_90a -I Sources/VLLMCUDA/Kernels -o /tmp/b benchmarks/kernels/int4_gemm_bench.cu || exit 1
t built
for M in 64 100 128; do
  for shape in "7168 5120" "5120 5120" "27648 5120" "5120 13824"; do timeout 60 /tmp/b $M $shape 200; done
done | tee $L/times.txt
t timed
SECTIONS="--section SpeedOfLight --section MemoryWorkloadAnalysis --section ComputeWorkloadAnalysis --section WarpStateStats --section SchedulerStats --section Occupancy --section LaunchStats --section InstructionStats"
for shape in "27648 5120" "5120 13824"; do
  n=$(echo $shape | tr ' ' x)
  timeout 120 ncu --clock-control none -k regex:linear_int4_gemm_bf16 --launch-skip 10 --launch-count 1 $SECTIONS /tmp/b 100 $shape 20 shipped > $L/ncu-$n.txt 2>&1
  echo "ncu $n exit $?"
done
grep -E "Duration|Throughput|Pipe|Stall|Warp Cycles|Issued|Eligible|Active Warps|Registers|Achieved Occupancy|L2 Hit|Mem Busy|Max Bandwidth|Executed Ipc" $L/ncu-27648x5120.txt | head -60
t done
