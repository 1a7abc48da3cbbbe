#!/bin/bash
# H200: run3's ncu showed the stream kernel's consumers stalled on the scale loads (31 % of stalls, L1TEX scoreboard)
# with 8 warps an SM. Now the scales come with the stage (a third copy, from a stage-ordered copy made at load), and
# variants run two persistent CTAs an SM. Kernel alone (.gpu/int4decode) on both shapes' linears at 1 and 8 tokens.
cp .gpu/int4decode /tmp/d && chmod +x /tmp/d
timeout 200 /tmp/d 200 > $OUT/kernel.txt 2>&1; echo "int4decode rc=$?"; cat $OUT/kernel.txt
