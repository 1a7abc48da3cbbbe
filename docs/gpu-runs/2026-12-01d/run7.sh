#!/bin/bash
# H200: linear_int4_wgmma adds its K splits in its own last CTA (last_split_to_finish, shared now with split decode
# attention and LoRA's shrink) instead of a reduce launch. check-gpu (the wgmma path forced with K split 4 ways, LoRA,
# split decode attention; stories260K greedy GPU = CPU), the offline deployment step and the decode profile at 100.
# Result: check-gpu all passed, but the wgmma GEMM took 23.6 ms a step at 100 sequences (run5: 15.8 + 1.1 of reduce)
# and the offline run fell to 3,935 tok/s: each last CTA summed its 64 elements one after another, every element a
# chain of `splits` dependent L2 loads, at the grid's tail. The wgmma change was reverted; the shared
# last_split_to_finish (LoRA, decode attention), checked here, was kept.
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; L=$OUT; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
t check-gpu
timeout 200 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K > $L/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|greedy|all passed|kernels ready" $L/check-gpu.log | head -6; grep -E "wgmma|lora|decode-long" $L/check-gpu.log | cut -c1-150 | head -12
t "offline 100 x 48->128"
timeout 100 /tmp/sv bench throughput --model benchmarks/configs/qwen2.5-14b-gptq-int4 --load-format dummy --kv-cache-dtype fp8 \
  --num-prompts 100 --input-len 48 --output-len 128 $K 2>/dev/null | grep -E "^\{" > $L/qwen14b-100x48.json
python3 -c "import json; d=json.load(open('$L/qwen14b-100x48.json')); print('100x48->128', round(d['output_tokens_per_s'],1), json.dumps(d.get('gpu_ms_by_step')))"
t profile
timeout 100 /tmp/sv check-gpu $K --skip-ops --model benchmarks/configs/qwen2.5-14b-gptq-int4 --load-format dummy \
  --profile-decode 100 > $L/profile.log 2>&1 || tail -5 $L/profile.log
grep -A8 "^decode" $L/profile.log | head -9
t done
