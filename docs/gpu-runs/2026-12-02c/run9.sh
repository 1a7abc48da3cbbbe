#!/bin/bash
# H200, session 19 run9: where a decode step of the GPTQ-int4 Llama-3-8B shape goes now (run8's binary): check-gpu
# --profile-decode at 1 and 256 sequences, context 512 (eager, an event after each launch, so small kernels read
# long), for the next session's plan against #20's W1 and W2 targets.
source docs/gpu-runs/lib.sh
timeout 140 /tmp/sv check-gpu --skip-ops --model $I --load-format dummy --profile-decode 1 256 $K > $L/profile-int4.log 2>&1
echo "exit $?"; grep -vE "^kernel " $L/profile-int4.log | tail -45
finish
