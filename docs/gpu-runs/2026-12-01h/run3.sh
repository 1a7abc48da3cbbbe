#!/bin/bash
# H200, session 16 run3: speculative decoding by a draft model (#11) on the GPU. stories260K with its first four layers
# as the draft: greedy text with and without speculation, and the acceptance; the Llama-3-8B shape (dummy weights) with a
# Llama-3.2-1B-shaped dummy draft (acceptance ~0: what drafting costs) and with itself as the draft (same dummy
# weights: how often bf16 verification agrees with the draft's one-token decode), W1 beside plain decoding.
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; L=/tmp/logs; mkdir -p $L; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
mkdir -p /tmp/st4 && for f in .gpu/stories260K/*; do ln -sf "$PWD/$f" /tmp/st4/; done && rm /tmp/st4/config.json
python3 -c "import json; c=json.load(open('.gpu/stories260K/config.json')); c['num_hidden_layers']=4; json.dump(c,open('/tmp/st4/config.json','w'))"
t stories260K
for s in plain draft; do
  X=(); [ $s = draft ] && X=(--speculative-config '{"model": "/tmp/st4", "num_speculative_tokens": 3}')
  timeout 60 /tmp/sv generate --model .gpu/stories260K --prompt "Once upon a time" --max-tokens 300 --temperature 0 --ignore-eos $K "${X[@]}" > $L/st-$s.txt 2> $L/st-$s.log
  echo "$s rc=$? md5 $(md5sum < $L/st-$s.txt)"; grep -h "SpecDecoding" $L/st-$s.log
done
cmp -s $L/st-plain.txt $L/st-draft.txt && echo "stories260K GPU: draft-model text = plain text" || { echo "stories260K GPU: TEXTS DIFFER"; diff $L/st-plain.txt $L/st-draft.txt | head -5; }
t W1 8B
M="--model benchmarks/configs/llama3-8b --load-format dummy --input-len 512 --output-len 128 --num-iters 3"
w1() {
  timeout 150 /tmp/sv bench latency $M $K "$@" 2>$L/w1-$N.log | grep -E "^\{" > $L/w1-$N.json
  python3 -c "import json; d=json.load(open('$L/w1-$N.json')); print('$N', {k: (round(v,3) if isinstance(v,float) else v) for k, v in d.items() if 'spec' in k or k in ('ttft_ms_median','tpot_ms_median','ms_per_decode_step_median')})" || tail -3 $L/w1-$N.log
}
N=plain w1
N=draft1b-k4 w1 --speculative-config '{"model": "benchmarks/configs/llama3.2-1b", "num_speculative_tokens": 4}'
N=draft1b-k2 w1 --speculative-config '{"model": "benchmarks/configs/llama3.2-1b", "num_speculative_tokens": 2}'
N=self-k4 w1 --speculative-config '{"model": "benchmarks/configs/llama3-8b", "num_speculative_tokens": 4}'
grep -h "speculative decoding\|KV cache" $L/w1-draft1b-k4.log $L/w1-self-k4.log
tar czf $OUT/logs.tgz -C $L .
t done
