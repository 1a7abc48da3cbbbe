#!/bin/bash
# H200: run4 with the per-stage divisions gone from the stream kernel (slots and phases counted), and 1, 2 or 3
# persistent CTAs an SM. Kernel alone (.gpu/int4decode) on both shapes' linears at 1 and 8 tokens.
cp .gpu/int4decode /tmp/d && chmod +x /tmp/d
timeout 200 /tmp/d 200 > $OUT/kernel.txt 2>&1; echo "int4decode rc=$?"; cat $OUT/kernel.txt
