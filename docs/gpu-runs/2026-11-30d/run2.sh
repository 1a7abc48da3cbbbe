#!/bin/bash
# H200 ×2: the one-kernel peer-memory all-reduce for small messages (Kernels/allreduce.cu) beside NCCL, same binary
# (SWIFT_VLLM_ALLREDUCE=nccl sends every all-reduce to NCCL). Collectives against host sums; stories260K greedy on
# 2 GPUs against the CPU; W1/W2/W3 of the Llama-3-8B shape at TP=2 both ways; the Qwen2.5-14B GPTQ + fp8 KV shape.
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; L=/tmp/logs; mkdir -p $L
timeout 120 /tmp/sv check-gpu $K --collectives 2 --skip-ops > $L/collectives.log 2>&1; echo "collectives exit $?"
grep -E "collectives on|allReduce|allGather|broadcast|all passed|failure" $L/collectives.log
for cfg in "cpu 1 auto" "cuda 2 float32" "cuda 2 auto"; do
  set -- $cfg
  timeout 90 /tmp/sv generate --model .gpu/stories260K --device $1 -tp $2 --dtype $3 --prompt "Once upon a time" \
    --max-tokens 200 --temperature 0 --ignore-eos --json $K > $L/story-$1-tp$2-$3.json 2> $L/story-$1-tp$2-$3.log
  echo "story $cfg exit $?"; grep -E "all-reduces|rror" $L/story-$1-tp$2-$3.log | head -3
done
python3 - <<'PY'
import json
ids = lambda name: json.load(open(f"/tmp/logs/story-{name}.json"))["outputs"][0]["token_ids"]
cpu = ids("cpu-tp1-auto")
for name in ["cuda-tp2-float32", "cuda-tp2-auto"]:
    got = ids(name); same = next((i for i, (a, b) in enumerate(zip(cpu, got)) if a != b), len(cpu))
    print(f"stories260K greedy {name}: {'identical' if got == cpu else 'first difference at token %d' % same} to the CPU over {len(cpu)} tokens")
PY
M=benchmarks/configs/llama3-8b
for mode in peer nccl; do
  E=""; [ $mode = nccl ] && E="env SWIFT_VLLM_ALLREDUCE=nccl"
  $E timeout 120 /tmp/sv bench latency --model $M --load-format dummy -tp 2 --input-len 512 --output-len 128 --num-iters 5 $K 2>$L/w1-$mode.log | grep -E "^\{" > $L/w1-$mode.json
  python3 -c "import json; d=json.load(open('$L/w1-$mode.json')); print('llama3-8b TP=2 $mode W1 TTFT', round(d['ttft_ms_median'],2), 'TPOT', round(d['tpot_ms_median'],3))" || tail -3 $L/w1-$mode.log
  $E timeout 120 /tmp/sv bench throughput --model $M --load-format dummy -tp 2 --num-prompts 256 --input-len 512 --output-len 128 $K 2>$L/w2-$mode.log | grep -E "^\{" > $L/w2-$mode.json
  python3 -c "import json; d=json.load(open('$L/w2-$mode.json')); print('llama3-8b TP=2 $mode W2', round(d['output_tokens_per_s'],1))" || tail -3 $L/w2-$mode.log
  $E timeout 120 /tmp/sv bench throughput --model $M --load-format dummy -tp 2 --lengths-file .gpu/w3_lengths.json --num-prompts 500 $K 2>$L/w3-$mode.log | grep -E "^\{" > $L/w3-$mode.json
  python3 -c "import json; d=json.load(open('$L/w3-$mode.json')); print('llama3-8b TP=2 $mode W3', round(d['requests_per_s'],2))" || tail -3 $L/w3-$mode.log
done
grep -h "all-reduces" $L/w1-peer.log | head -1
Q="--model benchmarks/configs/qwen2.5-14b-gptq-int4 --load-format dummy -tp 2 --kv-cache-dtype fp8 --quantization gptq_marlin"
timeout 120 /tmp/sv bench latency $Q --input-len 512 --output-len 128 --num-iters 5 $K 2>$L/q-w1.log | grep -E "^\{" > $L/q-w1.json
python3 -c "import json; d=json.load(open('$L/q-w1.json')); print('qwen2.5-14b gptq fp8-kv TP=2 W1 TTFT', round(d['ttft_ms_median'],2), 'TPOT', round(d['tpot_ms_median'],3))" || tail -3 $L/q-w1.log
timeout 120 /tmp/sv bench throughput $Q --num-prompts 256 --input-len 512 --output-len 128 $K 2>$L/q-w2.log | grep -E "^\{" > $L/q-w2.json
python3 -c "import json; d=json.load(open('$L/q-w2.json')); print('qwen2.5-14b gptq fp8-kv TP=2 W2', round(d['output_tokens_per_s'],1))" || tail -3 $L/q-w2.log
tar -C /tmp -czf $OUT/logs.tar.gz logs
