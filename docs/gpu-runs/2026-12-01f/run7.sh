#!/bin/bash
# H200: linear_int4_wgmma reading its weight words with ld.shared (32-bit addresses; through the aligned generic
# pointer the compiler had emitted generic 64-bit loads) and without a division for groups of 128. Kernel alone
# (.gpu/int4bench = benchmarks/kernels/int4_gemm_bench.cu), check-gpu, then the Qwen2.5-14B GPTQ-int4 + fp8 KV
# deployment (offline 100 x 48->128 and over HTTP), W2 and W3 of both int4 shapes.
cp .gpu/int4bench /tmp/b && chmod +x /tmp/b
for MNK in "64 27648 5120" "100 27648 5120" "128 27648 5120" "100 7168 5120" "100 5120 5120" "100 5120 13824" "192 28672 4096" "256 28672 4096" "256 4096 14336"; do
  timeout 60 /tmp/b $MNK 200 wgmma | grep -E "wgmma" | sed 's/, sum [^,]*//; s/, max |diff| \/ max |ref|/ diff/; s/ TFLOP\/s.*diff/ TF, diff/'
done 2>&1 | tee $OUT/kernel.txt
# K splits by hand on the linears whose grid is below two CTAs an SM (CUDABackend.int4GemmSplits: ⌈264 / CTAs⌉).
for MNK in "100 5120 5120" "100 7168 5120" "100 5120 13824" "64 5120 5120" "64 7168 5120" "128 4096 4096" "128 6144 4096" "128 4096 14336"; do
  for SP in 1 2 3 4 6; do
    timeout 30 /tmp/b $MNK 200 wgmma $SP | grep -E "wgmma" | sed 's/, sum [^,]*//; s/, max |diff|.*//'
  done
done 2>&1 | tee $OUT/splits.txt
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; L=$OUT; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
t check-gpu
timeout 200 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens \
  > $L/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|greedy .*pass|all passed|failure" $L/check-gpu.log | head -8
t "offline 100 x 48->128"
timeout 100 /tmp/sv bench throughput --model benchmarks/configs/qwen2.5-14b-gptq-int4 --load-format dummy --kv-cache-dtype fp8 \
  --num-prompts 100 --input-len 48 --output-len 128 $K 2>/dev/null | grep -E "^\{" > $L/qwen14b-100x48.json
python3 -c "import json; d=json.load(open('$L/qwen14b-100x48.json')); print('100x48->128', round(d['output_tokens_per_s'],1), json.dumps(d.get('gpu_ms_by_step')))"
mkdir -p /tmp/q14 && cp benchmarks/configs/qwen2.5-14b-gptq-int4/config.json .gpu/qwen2.5z/tokenizer_config.json /tmp/q14/ && gunzip -c .gpu/qwen2.5z/tokenizer.json.gz > /tmp/q14/tokenizer.json
t "swift-vllm serve"
/tmp/sv serve /tmp/q14 --load-format dummy --kv-cache-dtype fp8 --quantization gptq_marlin --port 8000 \
  --served-model-name qwen --enable-auto-tool-choice --tool-call-parser hermes $K --disable-log-requests > $L/ours-serve.log 2>&1 &
P=$!
for i in $(seq 240); do curl -s localhost:8000/health >/dev/null && break; sleep 0.5; done
t "ready"
timeout 150 python3 scripts/deployment_check.py --base-url http://127.0.0.1:8000 --model qwen --field guided_json > $L/ours-check.json
echo "rc=$?"; python3 -c "
import json; d=json.load(open('$L/ours-check.json')); print(json.dumps({k: v for k, v in d.items() if k != 'tool_calls'})[:700])"
kill $P; wait $P 2>/dev/null
w() {  # name, flags
  local n=$1; shift
  timeout 100 /tmp/sv bench throughput "$@" --num-prompts 256 --input-len 512 --output-len 128 $K 2>$L/$n-w2.log | grep -E "^\{" > $L/$n-w2.json
  python3 -c "import json; d=json.load(open('$L/$n-w2.json')); print('$n W2', round(d['output_tokens_per_s'],1))" || tail -3 $L/$n-w2.log
  timeout 100 /tmp/sv bench throughput "$@" --lengths-file .gpu/w3_lengths.json --num-prompts 500 $K 2>$L/$n-w3.log | grep -E "^\{" > $L/$n-w3.json
  python3 -c "import json; d=json.load(open('$L/$n-w3.json')); print('$n W3', round(d['requests_per_s'],2), 'req/s')" || tail -3 $L/$n-w3.log
}
t qwen14b-int4-fp8; w qwen14b-int4-fp8 --model benchmarks/configs/qwen2.5-14b-gptq-int4 --load-format dummy --kv-cache-dtype fp8
t llama8b-int4; w llama8b-int4 --model benchmarks/configs/llama3-8b-gptq-int4 --load-format dummy
t done
