#!/bin/bash
# H200, session 16 run4: speculative decoding's verify steps as CUDA graphs (uniform ones: every sequence its last token
# + k drafts), and the draft model in f32 (#11).
# 1. stories260K, f32, 200 greedy tokens: the CPU without speculation against the GPU with n-gram (k = 4) and with its
#    first four layers as a draft model (k = 3).
# 2. Llama-3-8B shape, bf16, dummy weights, run3c's self-repeating prompt (docs/gpu-runs/2026-11-30e): plain, n-gram
#    k = 2 / 4 / 8 with verify graphs, k = 4 with --enforce-eager; the model as its own draft (k = 4), graphs and eager.
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
L=/tmp/logs; mkdir -p $L; K="--kernel-cache-dir /tmp/kc"; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
SPEC() { echo "{\"method\": \"ngram\", \"num_speculative_tokens\": $1, \"prompt_lookup_min\": 2, \"prompt_lookup_max\": 4}"; }
ST=.gpu/stories260K
mkdir -p /tmp/st4 && for f in $ST/*; do ln -sf "$PWD/$f" /tmp/st4/; done && rm /tmp/st4/config.json
python3 -c "import json; c=json.load(open('$ST/config.json')); c['num_hidden_layers']=4; json.dump(c,open('/tmp/st4/config.json','w'))"
t stories260K
G="--prompt-ids 1,403,407,261,378 --max-tokens 200 --temperature 0 --ignore-eos --json"
/tmp/sv generate --model $ST --device cpu $G > $L/st-cpu.json 2>/dev/null
/tmp/sv generate --model $ST --device cuda --dtype float32 $G $K --speculative-config "$(SPEC 4)" > $L/st-ngram.json 2>$L/st-ngram.log
/tmp/sv generate --model $ST --device cuda --dtype float32 $G $K --speculative-config '{"model": "/tmp/st4", "num_speculative_tokens": 3}' > $L/st-draft.json 2>$L/st-draft.log
for s in ngram draft; do
  python3 -c "import json; a=json.load(open('$L/st-cpu.json')); b=json.load(open('$L/st-$s.json')); print('stories260K f32: GPU with $s speculation = CPU without:', a['outputs'][0]['token_ids']==b['outputs'][0]['token_ids'], len(b['outputs'][0]['token_ids']), 'tokens')"
  grep -h "SpecDecoding" $L/st-$s.log
done
t 8B
mkdir -p /tmp/l8 && cp benchmarks/configs/llama3-8b/config.json /tmp/l8/
M="--model /tmp/l8 --load-format dummy"
lat() {  # name, flags
  local n=$1; shift
  timeout 150 /tmp/sv bench latency $M --output-len 128 --num-iters 5 $K "$@" 2>$L/lat-$n.log | grep -E "^\{" > $L/lat-$n.json
  python3 -c "import json; d=json.load(open('$L/lat-$n.json')); print('$n', {k: (round(v,3) if isinstance(v,float) else v) for k, v in d.items() if k in ('ttft_ms_median','tpot_ms_median','ms_per_decode_step_median','spec_decode_acceptance_rate','spec_decode_acceptance_length')})" || tail -3 $L/lat-$n.log
}
lat plain --input-len 256 --self-repeating-prompt --save-prompt-ids $L/prompt-ids.json
for k in 2 4 8; do lat ngram-k$k --prompt-ids-file $L/prompt-ids.json --speculative-config "$(SPEC $k)"; done
lat ngram-k4-eager --prompt-ids-file $L/prompt-ids.json --speculative-config "$(SPEC 4)" --enforce-eager
lat self-k4 --prompt-ids-file $L/prompt-ids.json --speculative-config '{"model": "/tmp/l8", "num_speculative_tokens": 4}'
lat self-k4-eager --prompt-ids-file $L/prompt-ids.json --speculative-config '{"model": "/tmp/l8", "num_speculative_tokens": 4}' --enforce-eager
IDS=$(python3 -c "import json; print(','.join(map(str, json.load(open('$L/prompt-ids.json')))))")
timeout 60 /tmp/sv generate $M --prompt-ids $IDS --max-tokens 128 --temperature 0 --ignore-eos --json $K > $L/match-plain.json 2>/dev/null
for s in ngram self; do
  C="$(SPEC 4)"; [ $s = self ] && C='{"model": "/tmp/l8", "num_speculative_tokens": 4}'
  timeout 60 /tmp/sv generate $M --prompt-ids $IDS --max-tokens 128 --temperature 0 --ignore-eos --json $K --speculative-config "$C" > $L/match-$s.json 2>$L/match-$s.log
  python3 -c "
import json; a=json.load(open('$L/match-plain.json'))['outputs'][0]['token_ids']; b=json.load(open('$L/match-$s.json'))['outputs'][0]['token_ids']
same = next((i for i,(x,y) in enumerate(zip(a,b)) if x!=y), len(a))
print('8B bf16 match: $s k=4 vs none: %d of %d tokens equal, identical prefix %d' % (sum(x==y for x,y in zip(a,b)), len(a), same))"
done
tar czf $OUT/logs.tgz -C $L .
t done
