#!/bin/bash
# H200, speculative-decoding lease 3/3 (vLLM 0.26.0 unpacked into /root/site by run3a.sh and run3b.sh): n-gram
# speculation (issue #11).
# 1. stories260K greedy, 200 tokens, f32: GPU with speculation (k = 4) = the CPU's tokens without.
# 2. Llama-3-8B shape, bf16, dummy weights: `bench latency --self-repeating-prompt` (64 random ids R, the model's own
#    greedy 128-token continuation C, then R: 256 ids) without speculation and with k = 2, 4, 8 (n = 2…4): W1 TTFT /
#    TPOT, ms per decode (or verify) step, acceptance; the prompt's ids saved for vLLM.
# 3. The match rate: 128 greedy tokens on that prompt with k = 4 against without, token by token.
# 4. vLLM 0.26.0 on the same ids with the same --speculative-config (k = 4).
export PYTHONUNBUFFERED=1 PYTHONPATH=/root/site VLLM_USE_FLASHINFER_SAMPLER=0
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
L=/tmp/logs; rm -rf $L; mkdir -p $L; K="--kernel-cache-dir /tmp/kc"
SPEC() { echo "{\"method\": \"ngram\", \"num_speculative_tokens\": $1, \"prompt_lookup_min\": 2, \"prompt_lookup_max\": 4}"; }
S=.gpu/stories260K
/tmp/sv generate --model $S --device cpu --prompt-ids 1,403,407,261,378 --max-tokens 200 --temperature 0 --ignore-eos --json > $L/stories-cpu.json 2>/dev/null
/tmp/sv generate --model $S --device cuda --dtype float32 --prompt-ids 1,403,407,261,378 --max-tokens 200 --temperature 0 --ignore-eos --json --speculative-config "$(SPEC 4)" $K > $L/stories-gpu-spec.json 2> $L/stories-gpu-spec.log
python3 -c "import json; a=json.load(open('$L/stories-cpu.json')); b=json.load(open('$L/stories-gpu-spec.json')); print('stories260K f32: GPU with k=4 speculation = CPU without:', a['outputs'][0]['token_ids']==b['outputs'][0]['token_ids'], len(b['outputs'][0]['token_ids']), 'tokens')"
tail -1 $L/stories-gpu-spec.log
mkdir -p /tmp/l8 && cp benchmarks/configs/llama3-8b/config.json /tmp/l8/
M="--model /tmp/l8 --load-format dummy"
timeout 120 /tmp/sv bench latency $M --input-len 256 --output-len 128 --num-iters 5 --self-repeating-prompt --save-prompt-ids $L/prompt-ids.json $K 2>$L/latency-k0.log | tee $L/latency-k0.json
for k in 2 4 8; do
  timeout 120 /tmp/sv bench latency $M --prompt-ids-file $L/prompt-ids.json --output-len 128 --num-iters 5 $K --speculative-config "$(SPEC $k)" 2>$L/latency-k$k.log | tee $L/latency-k$k.json
done
IDS=$(python3 -c "import json; print(','.join(map(str, json.load(open('$L/prompt-ids.json')))))")
timeout 60 /tmp/sv generate $M --prompt-ids $IDS --max-tokens 128 --temperature 0 --ignore-eos --json $K > $L/match-plain.json 2>/dev/null
timeout 60 /tmp/sv generate $M --prompt-ids $IDS --max-tokens 128 --temperature 0 --ignore-eos --json $K --speculative-config "$(SPEC 4)" > $L/match-spec.json 2>$L/match-spec.log
python3 -c "
import json; a=json.load(open('$L/match-plain.json'))['outputs'][0]['token_ids']; b=json.load(open('$L/match-spec.json'))['outputs'][0]['token_ids']
same = next((i for i,(x,y) in enumerate(zip(a,b)) if x!=y), len(a))
print('8B bf16 match: k=4 speculation vs none: %d of %d tokens equal, identical prefix %d' % (sum(x==y for x,y in zip(a,b)), len(a), same))"
tail -1 $L/match-spec.log
timeout 300 python3 scripts/vllm_spec_peer.py /tmp/l8 $L/prompt-ids.json --output-len 128 --k 4 > $L/vllm-spec.log 2>&1; grep -E '^\{' $L/vllm-spec.log; tail -3 $L/vllm-spec.log | cut -c1-300
tar -C /tmp -czf $OUT/logs-run3.tar.gz logs
