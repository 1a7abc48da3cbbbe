#!/bin/bash
# The seeds' deployment on the GPU (issue #13 with #20/#15's shape): Qwen2.5-14B GPTQ-int4 (dummy weights), the real
# Qwen2.5 tokenizer and chat template, fp8 KV cache, hermes tool calls, -tp $TP; scripts/deployment_check.py sends
# guided_json on 100 concurrent chats (free vs constrained tok/s) and required / named / auto tool calls, whole and
# streamed. Then bench grammar on this host's CPU over Qwen2.5's vocabulary (a new schema's cost, masks at 256).
TP=${TP:-2}
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
mkdir -p /tmp/q14 && cp benchmarks/configs/qwen2.5-14b-gptq-int4/config.json .gpu/qwen2.5/tokenizer* /tmp/q14/
nvidia-smi --query-gpu=name,memory.used --format=csv
t "serve -tp $TP"
/tmp/sv serve /tmp/q14 --load-format dummy -tp $TP --kv-cache-dtype fp8 --quantization gptq_marlin --port 8000 \
  --served-model-name qwen --enable-auto-tool-choice --tool-call-parser hermes --kernel-cache-dir /tmp/kc \
  --disable-log-requests > $OUT/serve.log 2>&1 &
SERVE=$!
for i in $(seq 1 240); do curl -s localhost:8000/health >/dev/null && break; sleep 0.5; done
t "ready"; grep -iE "ready|KV cache|error" $OUT/serve.log | head -5
for field in guided_json structured_outputs; do
  t "deployment_check --field $field"
  python3 scripts/deployment_check.py --base-url http://127.0.0.1:8000 --model qwen --field $field > $OUT/check-$field.json
  echo "rc=$?"; cat $OUT/check-$field.json
done
curl -s localhost:8000/metrics | grep -E "^vllm:(num_requests|request_success_total)" | head -8
kill $SERVE; wait $SERVE
t "bench grammar (this host's CPU, Qwen2.5 vocabulary)"
/tmp/sv bench grammar --tokenizer .gpu/qwen2.5 --batch 256 | tee $OUT/bench-grammar.json
t done
