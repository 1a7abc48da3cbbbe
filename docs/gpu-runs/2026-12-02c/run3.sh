#!/bin/bash
# H200, session 19 run3: at 129–256 tokens, the two-warpgroup tiles (128 rows × 192 / 256 tokens, one CTA an SM) on the
# narrow linears (qkv, o, down), which take one-warpgroup tiles today: session 18's kernel (old, bc90dd9) with K split
# 1–5 ways, and this session's stream-K kernel (new) with one wave of 132 CTAs, beside each one's rule.
mkdir -p /tmp/ab && tar xzf .gpu/ab.tgz -C /tmp/ab
for MN in "256 6144 4096" "256 4096 4096" "256 4096 14336" "192 4096 14336" "192 6144 4096" "256 7168 5120" "256 5120 5120" "256 5120 13824" "192 5120 13824"; do
  set -- $MN; M=$1; if [ $M -gt 192 ]; then w=wg2n256s3; else w=wg2n192s3; fi
  timeout 30 /tmp/ab/old $MN 200 wgmma | grep -v shipped | sed "s/^/old rule /"
  for s in 1 2 3 4 5; do timeout 30 /tmp/ab/old $MN 200 $w $s | grep -v shipped | sed "s/^/old s$s /"; done
  timeout 30 /tmp/ab/new $MN 200 $w | grep -v shipped | sed "s/^/new SK /"
done 2>&1 | tee $OUT/kernel.txt
