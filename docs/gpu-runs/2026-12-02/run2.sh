#!/bin/bash
# H200, session 17 run2: run1's fused norms normalized x as each lane loaded it — every lane of every warp, each k-step
# (~150 ALU instructions a 16-byte load, ×8 for the lanes without a token): W1 bf16 TPOT 4.39 -> 10.0 ms. Now each CTA
# normalizes x once into shared memory (rms_norm_rows_to_shared) and the MMAs read it there; the int4 norm only at
# ≤ 8 tokens. W1 fused / SWIFT_VLLM_FUSED_LINEAR=0, the decode step's ops (profile), W3, then check-gpu.
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; L=/tmp/logs; mkdir -p $L; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
w1() {  # name, flags
  local n=$1; shift
  timeout 100 /tmp/sv bench latency "$@" --load-format dummy --input-len 512 --output-len 128 --num-iters 5 $K 2>$L/$n-w1.log | grep -E "^\{" > $L/$n-w1.json
  python3 -c "import json; d=json.load(open('$L/$n-w1.json')); print('$n W1 TTFT', round(d['ttft_ms_median'],2), 'TPOT', round(d['tpot_ms_median'],3))" || tail -3 $L/$n-w1.log
}
w3() {  # name, flags
  local n=$1; shift
  timeout 100 /tmp/sv bench throughput "$@" --load-format dummy --lengths-file .gpu/w3_lengths.json --num-prompts 500 $K 2>$L/$n-w3.log | grep -E "^\{" > $L/$n-w3.json
  python3 -c "import json; d=json.load(open('$L/$n-w3.json')); print('$n W3 req/s', round(d['requests_per_s'],2), {k: round(v['ms']/v['steps'],3) for k, v in d['gpu_ms_by_step'].items()})" || tail -3 $L/$n-w3.log
}
B=benchmarks/configs/llama3-8b; I=benchmarks/configs/llama3-8b-gptq-int4
t W1
w1 warm --model $B
w1 bf16 --model $B
SWIFT_VLLM_FUSED_LINEAR=0 w1 bf16-unfused --model $B
w1 int4 --model $I
SWIFT_VLLM_FUSED_LINEAR=0 w1 int4-unfused --model $I
w1 bf16-again --model $B
w1 int4-again --model $I
t profile
timeout 100 /tmp/sv check-gpu $K --skip-ops --model $B --load-format dummy --profile-decode 1 8 > $L/profile-bf16.log 2>&1 || tail -5 $L/profile-bf16.log
timeout 100 /tmp/sv check-gpu $K --skip-ops --model $I --load-format dummy --profile-decode 1 > $L/profile-int4.log 2>&1 || tail -5 $L/profile-int4.log
grep -E "linear|norm|silu|step" $L/profile-bf16.log | head -30
t W3
w3 bf16 --model $B
w3 int4 --model $I
SWIFT_VLLM_FUSED_LINEAR=0 w3 int4-unfused --model $I
t check-gpu
timeout 200 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens > $L/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|greedy .*pass|all passed|failure" $L/check-gpu.log | head -12
grep -E "fusedLinear" $L/check-gpu.log | awk '{print $NF}' | sort | uniq -c | head
tar czf $OUT/logs.tgz -C $L .
t done
