#!/bin/bash
# H200, session 18 run7: linear_fp8_decode (benchmarks/kernels/fp8_gemv_bench.cu: linear_int4_decode's recipe on e4m3
# weights) against linear_fp8_small at 8 and 16 rows a CTA, kernel alone, Llama-3-8B and Qwen2.5-14B linears, 1/4/8 tokens.
cp .gpu/fp8bench /tmp/f && chmod +x /tmp/f
timeout 120 /tmp/f 200 > $OUT/kernel.txt 2>&1; echo "fp8bench rc=$?"
python3 - $OUT/kernel.txt <<'PY'
import sys, re, collections
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    m = re.match(r"N\s+(\d+) K\s+(\d+) T (\d) (.+?)\s+([\d.]+) µs\s+(\d+) GB/s.*max (\S+) of", line)
    if not m: print(line.rstrip()); continue
    rows[(m.group(1), m.group(2), m.group(3))].append((float(m.group(5)), m.group(4), m.group(7)))
for k, v in rows.items():
    print("N%s K%s T%s" % k, " ".join(f"{n}={t:.2f}{'!' if float(d) > 2e-2 else ''}" for t, n, d in v), "| best", min(v)[1])
PY
