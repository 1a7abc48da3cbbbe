#!/bin/bash
# H200, session 25 run2b (same lease as run1, run2a): the peer's second part joined, checked and unpacked; then, one
# after the other, swift-vllm (run1's binary, kept in /root) and vLLM 0.26.0 (scripts/vllm_quant_peer.py: W1 / W2) on the
# Llama-3-8B shape as a block-FP8 checkpoint (128 × 128, benchmarks/configs/llama3-8b-fp8-block) and with
# `--quantization fp8` (a scale a row), random weights on both sides; our W3 of the block shape with cuBLASLt from 17
# tokens and with the rule as landed (linear_fp8_wgmma_block to 128), alternated.
export PYTHONUNBUFFERED=1 PYTHONPATH=/root/site VLLM_USE_FLASHINFER_SAMPLER=0
L=/tmp/logs; mkdir -p $L; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
exec > >(tee -a $L/output.txt) 2>&1
cat /root/vllm-lean.part00 .peer1/vllm-lean.part01 > /root/v.tar.xz && rm /root/vllm-lean.part00
sha256sum /root/v.tar.xz; grep tar.xz .peer1/SHA256SUMS
mkdir -p /root/site && tar -C /root/site -xJf /root/v.tar.xz && rm /root/v.tar.xz; t unpacked
cp /root/sv /tmp/sv; K="--kernel-cache-dir /tmp/kc"
ours() {  # name, flags
  local n=$1; shift
  timeout 100 /tmp/sv bench latency "$@" --load-format dummy --input-len 512 --output-len 128 --num-iters 5 $K 2>$L/$n-w1.log | grep -E "^\{" > $L/$n-w1.json
  timeout 120 /tmp/sv bench throughput "$@" --load-format dummy --num-prompts 256 --input-len 512 --output-len 128 $K 2>$L/$n-w2.log | grep -E "^\{" > $L/$n-w2.json
  python3 -c "import json; a=json.load(open('$L/$n-w1.json')); b=json.load(open('$L/$n-w2.json')); print('swift-vllm $n W1 TTFT', round(a['ttft_ms_median'],2), 'TPOT', round(a['tpot_ms_median'],3), 'W2', round(b['output_tokens_per_s'],1))"
}
FB=benchmarks/configs/llama3-8b-fp8-block
t swift-vllm; ours fp8block --model $FB; ours fp8 --model benchmarks/configs/llama3-8b --quantization fp8
w3() {  # name, flags (W3, for the rule between linear_fp8_wgmma_block and cuBLASLt at 17-128 tokens)
  local n=$1; shift
  timeout 120 /tmp/sv bench throughput "$@" --load-format dummy --lengths-file /root/w3_lengths.json --num-prompts 500 $K 2>$L/$n-w3.log | grep -E "^\{" > $L/$n-w3.json
  python3 -c "import json; d=json.load(open('$L/$n-w3.json')); s=d.get('gpu_ms_by_step', {}); print('$n W3 req/s', round(d['requests_per_s'],2), {k: round(v['ms']/v['steps'],3) for k, v in s.items()})"
}
SWIFT_VLLM_FP8_BLOCK_WGMMA_MAX=16 w3 fp8block-lt17 --model $FB; w3 fp8block --model $FB
for shape in llama3-8b-fp8-block llama3-8b; do
  mkdir -p /tmp/$shape && cp benchmarks/configs/$shape/config.json /tmp/$shape/
  q=""; [ $shape = llama3-8b ] && q="--quantization fp8"
  t "vLLM $shape $q"
  timeout 200 python3 scripts/vllm_quant_peer.py /tmp/$shape $q > $L/vllm-$shape.jsonl 2> $L/vllm-$shape.log
  echo "rc=$?"; cat $L/vllm-$shape.jsonl
  grep -ohE "Model loading took [0-9.]+ GiB|Using [A-Za-z0-9_]+ for [A-Za-z0-9_]+|[A-Za-z]*DeepGemm[A-Za-z ]*|Cutlass[A-Za-z0-9 ]*|quantization=[a-z_]+" $L/vllm-$shape.log | sort -u | head
done
tar czf $OUT/logs.tgz -C $L .; t done
