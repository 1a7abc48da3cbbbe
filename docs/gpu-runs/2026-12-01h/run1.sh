#!/bin/bash
# H200, session 16 run1: where the bf16 and 4-bit decode steps spend their time now (the binary of 0fb35cf's parent,
# 7f2685f; host-only change since). check-gpu --profile-decode (eager, an event after each launch), the kernels of
# graph-replayed decode steps under ncu (each kernel alone: gpu__time_duration), W1 and W3 with per-step GPU times.
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"; L=$OUT; S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
M="--model benchmarks/configs/llama3-8b --load-format dummy"
L8="--model benchmarks/configs/llama3-8b-gptq-int4 --load-format dummy"
t profile bf16
timeout 150 /tmp/sv check-gpu $K --skip-ops $M --profile-decode 1 8 64 256 > $L/profile-bf16.log 2>&1 || tail -5 $L/profile-bf16.log
grep -E "^decode|^prefill" $L/profile-bf16.log
t profile int4
timeout 100 /tmp/sv check-gpu $K --skip-ops $L8 --profile-decode 1 > $L/profile-int4.log 2>&1 || tail -5 $L/profile-int4.log
grep -E "^decode" $L/profile-int4.log
t W1 bf16 + int4
for m in llama3-8b llama3-8b-gptq-int4; do
  timeout 100 /tmp/sv bench latency --model benchmarks/configs/$m --load-format dummy --input-len 512 --output-len 128 --num-iters 5 $K 2>$L/$m-w1.log | grep -E "^\{" > $L/$m-w1.json
  python3 -c "import json; d=json.load(open('$L/$m-w1.json')); print('$m W1 TTFT', round(d['ttft_ms_median'],2), 'TPOT', round(d['tpot_ms_median'],3))" || tail -3 $L/$m-w1.log
done
t ncu graph decode kernels
for m in llama3-8b llama3-8b-gptq-int4; do
  timeout 150 ncu --clock-control none --metrics gpu__time_duration.sum --csv --launch-skip 4000 --launch-count 700 \
    /tmp/sv bench latency --model benchmarks/configs/$m --load-format dummy --input-len 512 --output-len 64 --num-iters 1 $K \
    > $L/ncu-$m.csv 2> $L/ncu-$m.err; echo "ncu $m rc=$?"
  python3 - "$L/ncu-$m.csv" <<'PY'
import csv, sys, collections, re
rows = [r for r in csv.reader(open(sys.argv[1])) if len(r) > 10]
if not rows: print("no rows"); sys.exit()
h = rows[0]; ki = h.index("Kernel Name"); vi = h.index("Metric Value"); ui = h.index("Metric Unit")
times = collections.defaultdict(list)
for r in rows[1:]:
    v = float(r[vi].replace(",", "")); v = v / 1000 if r[ui] == "nsecond" else v
    times[re.sub(r"\(.*", "", r[ki])].append(v)
tot = sum(sum(v) for v in times.values())
print("kernels", sum(len(v) for v in times.values()), "sum us", round(tot, 1))
for k, v in sorted(times.items(), key=lambda kv: -sum(kv[1])):
    print(f"  {k[:60]:60s} n={len(v):4d} sum={sum(v):9.1f} mean={sum(v)/len(v):7.2f} min={min(v):7.2f}")
PY
done
t W3 bf16
timeout 100 /tmp/sv bench throughput $M --lengths-file .gpu/w3_lengths.json --num-prompts 500 $K 2>$L/w3.log | grep -E "^\{" > $L/w3.json
python3 -c "import json; d=json.load(open('$L/w3.json')); print({k: v for k, v in d.items() if 'by_step' not in k and not isinstance(v, list)}); print(d.get('gpu_ms_by_step'))" | cut -c1-1500
t done
