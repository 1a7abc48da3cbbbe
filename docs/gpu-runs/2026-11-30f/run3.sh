#!/bin/bash
# H200: the kept GEMM (4 warps of 32 rows × 64 tokens, split K) and the path choice by shape (CUDABackend.int4Path).
# Every op against the CPU, bench-linear (each path at 17+ tokens), ncu's warp-state view of one GEMM launch, then
# W1/W2/W3 of the Llama-3-8B GPTQ-int4 shape and the Qwen2.5-14B GPTQ-int4 + fp8-cache shape, with the GEMM and
# without it (SWIFT_VLLM_INT4_GEMM_MAX_TOKENS=0: run1's paths), alternating.
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; L=$OUT; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
timeout 200 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K > $L/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|greedy|all passed" $L/check-gpu.log | head -8; grep "linear int4" $L/check-gpu.log | awk '{print $2,$3,$4,$5,$6,$7,$8,$9,$10,$(NF-2),$NF}' | head -60
t bench-linear
timeout 200 /tmp/sv check-gpu $K --bench-linear > $L/bench-linear.log 2>&1; echo "bench-linear exit $?"
grep -E "T (24|32|48|64|96|128|192|256) " $L/bench-linear.log | sed -E 's/bench-linear //; s/linear.cu n\/a, //; s/ [0-9]+ (GB|TFLOP)\/s//g; s/ packed//; s/ µs//g' | cut -c1-300
t ncu
timeout 150 ncu --clock-control none -k regex:linear_int4_gemm_bf16 --launch-skip 3 --launch-count 1 \
  --section SpeedOfLight --section WarpStateStats --section SchedulerStats --section ComputeWorkloadAnalysis --section Occupancy \
  /tmp/sv check-gpu $K --bench-linear > $L/ncu.log 2>&1; echo "ncu exit $?"
grep -v "^bench-linear" $L/ncu.log | grep -E "Stall|Issue|Pipe|Throughput|Occupancy|Warp Cycles|Eligible|Active Warps|Duration|Grid|Block|Registers|Shared|^    [A-Z]" | head -80
run() {  # name, env, flags
  local n=$1 e=$2; shift 2
  env $e timeout 100 /tmp/sv bench latency "$@" --input-len 512 --output-len 128 --num-iters 5 $K 2>$L/$n-w1.log | grep -E "^\{" > $L/$n-w1.json
  python3 -c "import json; d=json.load(open('$L/$n-w1.json')); print('$n W1 TTFT', round(d['ttft_ms_median'],2), 'TPOT', round(d['tpot_ms_median'],3))" || tail -3 $L/$n-w1.log
  env $e timeout 100 /tmp/sv bench throughput "$@" --num-prompts 256 --input-len 512 --output-len 128 $K 2>$L/$n-w2.log | grep -E "^\{" > $L/$n-w2.json
  python3 -c "import json; d=json.load(open('$L/$n-w2.json')); print('$n W2', round(d['output_tokens_per_s'],1))" || tail -3 $L/$n-w2.log
  env $e timeout 100 /tmp/sv bench throughput "$@" --lengths-file .gpu/w3_lengths.json --num-prompts 500 $K 2>$L/$n-w3.log | grep -E "^\{" > $L/$n-w3.json
  python3 -c "import json; d=json.load(open('$L/$n-w3.json')); print('$n W3', round(d['requests_per_s'],2))" || tail -3 $L/$n-w3.log
}
for gemm in default 0; do
  t "SWIFT_VLLM_INT4_GEMM_MAX_TOKENS=$gemm"
  e=SWIFT_VLLM_INT4_GEMM_MAX_TOKENS=$gemm; [ $gemm = default ] && e=X=1
  run llama8b-int4-gemm-$gemm $e --model benchmarks/configs/llama3-8b-gptq-int4 --load-format dummy
  run qwen14b-int4-fp8-gemm-$gemm $e --model benchmarks/configs/qwen2.5-14b-gptq-int4 --load-format dummy --kv-cache-dtype fp8
done
t done
tar -C $OUT -czf /tmp/run3.tgz . && rm -f $OUT/*.json $OUT/*-w?.log && mv /tmp/run3.tgz $OUT/
