#!/bin/bash
# H200 ×2, after the review: the final binary's check-gpu (every op against the CPU, stories260K greedy GPU = CPU),
# the collectives check (now run on the engine's RankThreads), and stories260K greedy on two GPUs against the CPU.
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; L=/tmp/logs; mkdir -p $L
timeout 240 /tmp/sv check-gpu $K --collectives 2 --greedy-model .gpu/stories260K > $L/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "collectives on|allReduce|allGather|broadcast|FAIL|greedy|all passed|failure" $L/check-gpu.log | head -20
grep -cE " pass" $L/check-gpu.log
for cfg in "cpu 1 auto" "cuda 2 float32" "cuda 2 auto"; do
  set -- $cfg
  timeout 90 /tmp/sv generate --model .gpu/stories260K --device $1 -tp $2 --dtype $3 --prompt "Once upon a time" \
    --max-tokens 200 --temperature 0 --ignore-eos --json $K > $L/story-$1-tp$2-$3.json 2> $L/story-$1-tp$2-$3.log
done
python3 - <<'PY'
import json
ids = lambda name: json.load(open(f"/tmp/logs/story-{name}.json"))["outputs"][0]["token_ids"]
cpu = ids("cpu-tp1-auto")
for name in ["cuda-tp2-float32", "cuda-tp2-auto"]:
    got = ids(name); same = next((i for i, (a, b) in enumerate(zip(cpu, got)) if a != b), len(cpu))
    print(f"stories260K greedy {name}: {'identical' if got == cpu else 'first difference at token %d' % same} to the CPU over {len(cpu)} tokens")
PY
tar -C /tmp -czf $OUT/logs.tar.gz logs
