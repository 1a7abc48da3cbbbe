#!/bin/bash
# H200 ×2 (nvidia-h200-x2): tensor parallelism over NCCL, first GPU call. Every op against the CPU (the embedding
# kernel gained a vocabulary offset); stories260K greedy on 1 and 2 GPUs against the CPU; `serve -tp 2` over HTTP;
# W1/W2/W3 of the Llama-3-8B shape at TP=2 and TP=1; the seeds' Qwen2.5-14B GPTQ-int4 + fp8 KV shape at TP=2.
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"
nvidia-smi -L
timeout 200 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K > $OUT/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|greedy|all passed" $OUT/check-gpu.log | head -5
for cfg in "cpu 1 auto" "cuda 1 float32" "cuda 2 float32" "cuda 1 auto" "cuda 2 auto"; do
  set -- $cfg
  timeout 90 /tmp/sv generate --model .gpu/stories260K --device $1 -tp $2 --dtype $3 --prompt "Once upon a time" \
    --max-tokens 200 --temperature 0 --ignore-eos --json $K > $OUT/story-$1-tp$2-$3.json 2> $OUT/story-$1-tp$2-$3.log
  echo "story $cfg exit $?"; grep -E "tensor parallel|rror" $OUT/story-$1-tp$2-$3.log | head -3
done
python3 - <<'PY'
import json, os
out = os.environ["OUT"]
ids = lambda name: json.load(open(f"{out}/story-{name}.json"))["outputs"][0]["token_ids"]
cpu = ids("cpu-tp1-auto")
for name in ["cuda-tp1-float32", "cuda-tp2-float32", "cuda-tp1-auto", "cuda-tp2-auto"]:
    try:
        got = ids(name)
        same = next((i for i, (a, b) in enumerate(zip(cpu, got)) if a != b), len(cpu))
        print(f"stories260K greedy {name}: {'identical' if got == cpu else 'first difference at token %d' % same} to the CPU over {len(cpu)} tokens")
    except Exception as e:
        print(name, "no output", e)
PY
# serve -tp 2 over HTTP: greedy completions equal the CPU's text.
timeout 120 /tmp/sv serve .gpu/stories260K --port 8011 --served-model-name stories -tp 2 $K > $OUT/serve-tp2.log 2>&1 &
SPID=$!
for _ in $(seq 300); do curl -sf localhost:8011/health >/dev/null && break; sleep 0.2; done
python3 - <<'PY'
import json, os, concurrent.futures, urllib.request
out = os.environ["OUT"]
expected = json.load(open(f"{out}/story-cpu-tp1-auto.json"))["outputs"][0]["text"]
def complete(_):
    body = json.dumps({"model": "stories", "prompt": "Once upon a time", "max_tokens": 200, "temperature": 0, "ignore_eos": True}).encode()
    req = urllib.request.Request("http://127.0.0.1:8011/v1/completions", body, {"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req, timeout=60))["choices"][0]["text"]
with concurrent.futures.ThreadPoolExecutor(16) as pool:
    texts = list(pool.map(complete, range(64)))
print("serve -tp 2: 64 concurrent greedy completions,", sum(t == expected for t in texts), "equal the CPU's text")
PY
kill $SPID; wait $SPID; grep -E "tensor parallel|KV cache|CUDA graphs|rror" $OUT/serve-tp2.log | head -6
M=benchmarks/configs/llama3-8b
for tp in 2 1; do
  timeout 120 /tmp/sv bench latency --model $M --load-format dummy -tp $tp --input-len 512 --output-len 128 --num-iters 5 $K 2>$OUT/w1-tp$tp.log | grep -E "^\{" > $OUT/w1-tp$tp.json
  python3 -c "import json; d=json.load(open('$OUT/w1-tp$tp.json')); print('llama3-8b TP=$tp W1 TTFT', round(d['ttft_ms_median'],2), 'TPOT', round(d['tpot_ms_median'],3))" || tail -5 $OUT/w1-tp$tp.log
  timeout 120 /tmp/sv bench throughput --model $M --load-format dummy -tp $tp --num-prompts 256 --input-len 512 --output-len 128 $K 2>$OUT/w2-tp$tp.log | grep -E "^\{" > $OUT/w2-tp$tp.json
  python3 -c "import json; d=json.load(open('$OUT/w2-tp$tp.json')); print('llama3-8b TP=$tp W2', round(d['output_tokens_per_s'],1))" || tail -5 $OUT/w2-tp$tp.log
  timeout 120 /tmp/sv bench throughput --model $M --load-format dummy -tp $tp --lengths-file .gpu/w3_lengths.json --num-prompts 500 $K 2>$OUT/w3-tp$tp.log | grep -E "^\{" > $OUT/w3-tp$tp.json
  python3 -c "import json; d=json.load(open('$OUT/w3-tp$tp.json')); print('llama3-8b TP=$tp W3', round(d['requests_per_s'],2))" || tail -5 $OUT/w3-tp$tp.log
done
Q=benchmarks/configs/qwen2.5-14b-gptq-int4
timeout 120 /tmp/sv bench latency --model $Q --load-format dummy -tp 2 --kv-cache-dtype fp8 --quantization gptq_marlin --input-len 512 --output-len 128 --num-iters 5 $K 2>$OUT/q-w1.log | grep -E "^\{" > $OUT/q-w1.json
python3 -c "import json; d=json.load(open('$OUT/q-w1.json')); print('qwen2.5-14b gptq fp8-kv TP=2 W1 TTFT', round(d['ttft_ms_median'],2), 'TPOT', round(d['tpot_ms_median'],3))" || tail -5 $OUT/q-w1.log
timeout 120 /tmp/sv bench throughput --model $Q --load-format dummy -tp 2 --kv-cache-dtype fp8 --quantization gptq_marlin --num-prompts 256 --input-len 512 --output-len 128 $K 2>$OUT/q-w2.log | grep -E "^\{" > $OUT/q-w2.json
python3 -c "import json; d=json.load(open('$OUT/q-w2.json')); print('qwen2.5-14b gptq fp8-kv TP=2 W2', round(d['output_tokens_per_s'],1))" || tail -5 $OUT/q-w2.log
