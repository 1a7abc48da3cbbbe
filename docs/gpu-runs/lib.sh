#!/bin/bash
# Shared by the run scripts from session 19 on (`source docs/gpu-runs/lib.sh` on the GPU machine, from the repository
# root): the release binary and harnesses carried in .gpu/, a kernel cache, logs under $L (tarred into $OUT by `finish`),
# and the workloads on dummy weights — W1 (bench latency, 1 × 512 → 128), W2 (bench throughput, 256 × 512 → 128)
# and W3 (bench throughput, 500 mixed lengths) — each printing its figure and the GPU time by step size.
if [ -f .gpu/swift-vllm.xz ]; then  # xz where the carry would pass 64 MiB with gzip's
  python3 -c "import lzma, shutil; shutil.copyfileobj(lzma.open('.gpu/swift-vllm.xz'), open('/tmp/sv', 'wb'))"
else gunzip -c .gpu/swift-vllm.gz > /tmp/sv; fi
chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; L=/tmp/logs; mkdir -p $L; S=$(date +%s)
exec > >(tee -a $L/output.txt) 2>&1  # the whole stdout in logs.tgz too (a call returns only its tail)
t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
steps="s=d.get('gpu_ms_by_step', {}); print({k: round(v['ms']/v['steps'],3) for k, v in s.items()})"
w1() {  # name, flags
  local n=$1; shift
  timeout 100 /tmp/sv bench latency "$@" --load-format dummy --input-len 512 --output-len 128 --num-iters 5 $K 2>$L/$n-w1.log | grep -E "^\{" > $L/$n-w1.json
  python3 -c "import json; d=json.load(open('$L/$n-w1.json')); print('$n W1 TTFT', round(d['ttft_ms_median'],2), 'TPOT', round(d['tpot_ms_median'],3))" || tail -3 $L/$n-w1.log
}
w2() {  # name, flags
  local n=$1; shift
  timeout 120 /tmp/sv bench throughput "$@" --load-format dummy --num-prompts 256 --input-len 512 --output-len 128 $K 2>$L/$n-w2.log | grep -E "^\{" > $L/$n-w2.json
  python3 -c "import json; d=json.load(open('$L/$n-w2.json')); print('$n W2 output tok/s', round(d['output_tokens_per_s'],1)); $steps" || tail -3 $L/$n-w2.log
}
w3() {  # name, flags
  local n=$1; shift
  timeout 120 /tmp/sv bench throughput "$@" --load-format dummy --lengths-file .gpu/w3_lengths.json --num-prompts 500 $K 2>$L/$n-w3.log | grep -E "^\{" > $L/$n-w3.json
  python3 -c "import json; d=json.load(open('$L/$n-w3.json')); print('$n W3 req/s', round(d['requests_per_s'],2)); $steps" || tail -3 $L/$n-w3.log
}
finish() { tar czf $OUT/logs.tgz -C $L .; t done; }
B=benchmarks/configs/llama3-8b; I=benchmarks/configs/llama3-8b-gptq-int4; Q=benchmarks/configs/qwen2.5-14b-gptq-int4
