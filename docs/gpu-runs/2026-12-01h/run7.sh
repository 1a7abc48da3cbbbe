#!/bin/bash
# H200, session 16 run7: where a decode step's GPU time goes by batch size now (check-gpu --profile-decode: eager, an
# event after each launch, so small kernels read long), bf16 and GPTQ-int4 Llama-3-8B shape, context 512 — for the
# next session's choice between attention and the small kernels.
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"
for m in llama3-8b llama3-8b-gptq-int4; do
  timeout 200 /tmp/sv check-gpu $K --skip-ops --model benchmarks/configs/$m --load-format dummy --profile-decode 1 32 256 > $OUT/profile-$m.log 2>&1 || tail -3 $OUT/profile-$m.log
  python3 - "$OUT/profile-$m.log" "$m" <<'PY'
import sys, re
text = open(sys.argv[1]).read()
for block in re.split(r"\n(?=decode|prefill)", text):
    if not block.startswith(("decode", "prefill")): continue
    lines = block.splitlines()
    print(sys.argv[2], lines[0][:160])
    for l in lines[1:9]: print("   ", l[:110])
PY
done
