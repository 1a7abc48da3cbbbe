#!/bin/bash
# H200, session 19 run8: kernel families compiled and loaded on background threads as the backend opens
# (CUDABackend.loadKernelsInBackground), on a fresh machine with an empty kernel cache: W3 of GPTQ-int4 cold and then
# warm (run5, the binary before, cold: 38.24 req/s, its 129+-sequence steps 34.8 ms; warm 53.3), `serve`'s start-up
# and first request with an empty cache (the demo model), W1, and check-gpu.
source docs/gpu-runs/lib.sh
t "W3 int4, empty kernel cache"
w3 int4-cold --model $I
w3 int4-warm --model $I
t "serve (demo model), empty kernel cache"
T0=$(date +%s%N); /tmp/sv serve --port 18000 --kernel-cache-dir /tmp/kc2 > $L/serve.log 2>&1 & P=$!
for i in $(seq 600); do curl -sf localhost:18000/health >/dev/null && break; sleep 0.05; done
echo "ready after $(( ($(date +%s%N) - T0) / 1000000 )) ms"
for n in 1 2; do
  T1=$(date +%s%N); curl -s localhost:18000/v1/completions -H 'Content-Type: application/json' \
    -d '{"model": "demo-model", "prompt": "hello", "max_tokens": 16}' > $L/completion-$n.json
  echo "completion $n after $(( ($(date +%s%N) - T1) / 1000000 )) ms: $(head -c 160 $L/completion-$n.json)"
done
sleep 20; echo "kernel families cached after 20 s: $(ls /tmp/kc2 | wc -l)"
kill $P; wait $P 2>/dev/null
t W1
w1 int4 --model $I
w1 bf16 --model $B
t check-gpu
timeout 200 /tmp/sv check-gpu $K --greedy-model .gpu/stories260K --quantized-goldens Tests/VLLMModelsTests/Goldens > $L/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|greedy .*pass|all passed|failure|Error" $L/check-gpu.log | head -12
finish
