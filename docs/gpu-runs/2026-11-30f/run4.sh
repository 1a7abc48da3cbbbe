#!/bin/bash
# H200 ×2: the seeds' deployment shape — Qwen2.5-14B GPTQ-int4, tensor parallel 2, fp8 KV cache — W1/W2/W3 with the
# 4-bit GEMM (run3's binary) and without it (SWIFT_VLLM_INT4_GEMM_MAX_TOKENS=0), alternating, twice.
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; L=$OUT; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
run() {  # name, env, flags
  local n=$1 e=$2; shift 2
  env $e timeout 100 /tmp/sv bench latency "$@" --input-len 512 --output-len 128 --num-iters 5 $K 2>$L/$n-w1.log | grep -E "^\{" > $L/$n-w1.json
  python3 -c "import json; d=json.load(open('$L/$n-w1.json')); print('$n W1 TTFT', round(d['ttft_ms_median'],2), 'TPOT', round(d['tpot_ms_median'],3))" || tail -3 $L/$n-w1.log
  env $e timeout 100 /tmp/sv bench throughput "$@" --num-prompts 256 --input-len 512 --output-len 128 $K 2>$L/$n-w2.log | grep -E "^\{" > $L/$n-w2.json
  python3 -c "import json; d=json.load(open('$L/$n-w2.json')); print('$n W2', round(d['output_tokens_per_s'],1))" || tail -3 $L/$n-w2.log
  env $e timeout 100 /tmp/sv bench throughput "$@" --lengths-file .gpu/w3_lengths.json --num-prompts 500 $K 2>$L/$n-w3.log | grep -E "^\{" > $L/$n-w3.json
  python3 -c "import json; d=json.load(open('$L/$n-w3.json')); print('$n W3', round(d['requests_per_s'],2))" || tail -3 $L/$n-w3.log
}
for pass in 1 2; do
  for gemm in default 0; do
    t "pass $pass SWIFT_VLLM_INT4_GEMM_MAX_TOKENS=$gemm"
    e=SWIFT_VLLM_INT4_GEMM_MAX_TOKENS=$gemm; [ $gemm = default ] && e=X=1
    run qwen14b-tp2-gemm-$gemm-$pass $e --model benchmarks/configs/qwen2.5-14b-gptq-int4 --load-format dummy -tp 2 \
      --kv-cache-dtype fp8 --quantization gptq_marlin
  done
done
t done
tar -C $OUT -czf /tmp/run4.tgz . && rm -f $OUT/*.json $OUT/*-w?.log && mv /tmp/run4.tgz $OUT/
