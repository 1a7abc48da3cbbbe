#!/bin/bash
# H200, session 19 run6: run5's binary again, W3 and W2 of GPTQ-int4 after a warm-up run (run5's W3 int4 compiled the
# wgmma kernels inside its measured run: its steps of 129+ sequences 34.8 ms against run4's 16.5), and W2 bf16.
source docs/gpu-runs/lib.sh
w3 int4-warm --model $I
w3 int4 --model $I
w2 int4 --model $I
w2 bf16 --model $B
w3 bf16 --model $B
finish
