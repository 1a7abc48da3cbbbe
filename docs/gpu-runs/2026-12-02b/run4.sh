#!/bin/bash
# H200, session 18 run4: linear_int4_lean4 (x staged once a CTA in shared memory; a ring of 2–4 stages of weights and
# scales) against linear_int4_small, lean2 and lean3, kernel alone, 1 and 8 tokens.
cp .gpu/int4decode /tmp/d && chmod +x /tmp/d
timeout 150 /tmp/d 200 > $OUT/kernel.txt 2>&1; echo "int4decode rc=$?"
python3 - $OUT/kernel.txt <<'PY'
import sys, re, collections
best = collections.defaultdict(list)
for line in open(sys.argv[1]):
    m = re.match(r"(\S+ \S+)\s+N\s+(\d+) K\s+(\d+) T (\d) (.+?)\s+([\d.]+) µs\s+(\d+) GB/s\s+\(max diff (\S+)", line)
    if not m: print(line.rstrip()); continue
    best[(m.group(1), m.group(4))].append((float(m.group(6)), m.group(5), m.group(8)))
for k, v in best.items():
    small = [x for x in v if x[1] == "small"][0][0]
    print(k, " ".join(f"{n}={t:.2f}{'!' if float(d) > 2e-3 else ''}" for t, n, d in v), "| best", min(v)[1], f"{min(v)[0]:.2f} vs small {small:.2f}")
PY
timeout 60 ncu --clock-control none --section WarpStateStats --section SchedulerStats --section InstructionStats \
  -k regex:linear_int4 --launch-skip 3 --launch-count 1 /tmp/d 1 3 1 a > $OUT/ncu-a-3.txt 2>&1; echo "ncu rc=$?"
grep -E "Duration|Warp Cycles Per Issued|Issued Warp|Executed Instructions  " $OUT/ncu-a-3.txt
