#!/bin/bash
# H200, session 17 run4: where the HTTP run's mean TTFT goes (#12: session 4's lease had ours 4,414 ms mean / 3,672
# median / std 1,092 against vLLM's 3,846 / 3,745 / 1,775 — ours concentrated, few early first tokens). swift-vllm
# serve (Llama-3-8B shape, bf16, dummy weights, gpt2 tokenizer) and this project's bench serve (random 500 × 512 →
# 128, rate inf, --save-detailed: per-request start times and TTFTs), /metrics scraped before and after (server-side
# TTFT and queue-time histograms); with async scheduling (the default) and --no-async-scheduling.
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; L=/tmp/logs; mkdir -p $L; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
mkdir -p /tmp/l8 && cp benchmarks/configs/llama3-8b/config.json .gpu/gpt2/* /tmp/l8/
http() {  # name, serve flags
  local n=$1; shift
  /tmp/sv serve /tmp/l8 --load-format dummy --port 18000 --served-model-name llama --disable-log-requests $K "$@" > $L/$n-serve.log 2>&1 & P=$!
  for i in $(seq 600); do curl -sf localhost:18000/health >/dev/null && break; sleep 0.05; done
  curl -s localhost:18000/metrics > $L/$n-metrics-before.txt
  timeout 150 /tmp/sv bench serve --base-url http://127.0.0.1:18000 --model llama --tokenizer /tmp/l8 --dataset-name random \
    --random-input-len 512 --random-output-len 128 --num-prompts 500 --ignore-eos --save-result --save-detailed \
    --result-dir $L --result-filename $n-http.json > $L/$n-http.log 2>&1
  curl -s localhost:18000/metrics > $L/$n-metrics-after.txt
  kill $P; wait $P 2>/dev/null
  grep -E "Request throughput|Mean TTFT|Median TTFT|P99 TTFT|Mean TPOT" $L/$n-http.log
  python3 - $L/$n-metrics-before.txt $L/$n-metrics-after.txt <<'PY'
import sys, re
def read(p):
    d = {}
    for line in open(p):
        m = re.match(r'^(vllm:(?:time_to_first_token_seconds|request_queue_time_seconds|e2e_request_latency_seconds)_(?:sum|count))(?:\{[^}]*\})? ([0-9.e+-]+)', line)
        if m: d[m.group(1)] = d.get(m.group(1), 0) + float(m.group(2))
    return d
a, b = read(sys.argv[1]), read(sys.argv[2])
for name in ['time_to_first_token_seconds', 'request_queue_time_seconds', 'e2e_request_latency_seconds']:
    s = b.get(f'vllm:{name}_sum', 0) - a.get(f'vllm:{name}_sum', 0); c = b.get(f'vllm:{name}_count', 0) - a.get(f'vllm:{name}_count', 0)
    print(f'server {name}: mean {1000 * s / max(c, 1):.1f} ms over {c:.0f}')
PY
  python3 - $L/$n-http.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
starts, ttfts = d.get('start_times') or [], d['ttfts']
print('keys', [k for k in d if isinstance(d[k], list)])
if starts:
    t0 = min(starts); firsts = sorted((s - t0 + f) for s, f in zip(starts, ttfts))
    print('send spread (s):', round(max(starts) - t0, 3), ' first-token times (s) at deciles:', [round(firsts[int(i * (len(firsts) - 1) / 10)], 2) for i in range(11)])
tt = sorted(ttfts); print('TTFT (s) deciles:', [round(tt[int(i * (len(tt) - 1) / 10)], 2) for i in range(11)])
PY
}
t async
http async
t no-async
http no-async --no-async-scheduling
tar czf $OUT/logs.tgz -C $L .
t done
