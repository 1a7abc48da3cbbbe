#!/bin/bash
# H200, session 23 run6: the landed binary (70abc5d: run4's "new", check-gpu all passed there) on another lease —
# W1 / W2 / W3 of every format, W2 `--quantization fp8` three times (the lease-to-lease spread was 6 % this session).
source docs/gpu-runs/lib.sh
t W2
w2 fp8 --model $B --quantization fp8
w2 fp8-again --model $B --quantization fp8
t W1
w1 int4 --model $I
w1 fp8 --model $B --quantization fp8
w1 q14 --model $Q --kv-cache-dtype fp8
w1 bf16 --model $B
t "W2, the others"
w2 int4 --model $I
w2 bf16 --model $B
w2 q14 --model $Q --kv-cache-dtype fp8
t W3
w3 int4 --model $I
w3 fp8 --model $B --quantization fp8
w2 fp8-third --model $B --quantization fp8
finish
