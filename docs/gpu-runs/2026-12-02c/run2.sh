#!/bin/bash
# H200, session 19 run2: run1's linear_int4_wgmma ran slower than session 14's at the same grid (whole tiles, K split by
# the old rule: Qwen2.5-14B gate_up at 100 tokens 111 µs against run9's 77). The harness at bc90dd9 (old: that kernel)
# beside this session's (new: stream-K and, as wgsplit, the old grid; z: the same with the sums zeroed at a part's
# start instead of the first wgmma's scale-d), on the same shapes, in one lease.
mkdir -p /tmp/ab && tar xzf .gpu/ab.tgz -C /tmp/ab
for MNK in "100 27648 5120" "100 5120 5120" "100 5120 13824" "128 4096 14336" "256 4096 14336" "256 28672 4096" "64 6144 4096"; do
  for b in old new z; do
    if [ $b = old ]; then v=wgmma; else v=wgmma,wgsplit; fi
    timeout 30 /tmp/ab/$b $MNK 200 $v | grep -v shipped | sed "s/^/$b /"
  done
done 2>&1 | tee $OUT/kernel.txt
