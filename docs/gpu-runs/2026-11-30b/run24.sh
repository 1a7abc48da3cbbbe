#!/bin/bash
# H200: the encoder ops (encoder.cu) against the CPU in check-gpu; then all-MiniLM-L6-v2's shape with dummy
# weights (the same values on both backends) served on the GPU (f32 and bf16) and on the CPU: the same
# sentences' embeddings compared by cosine.
export PYTHONUNBUFFERED=1
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
K="--kernel-cache-dir /tmp/kc"
S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
t "check-gpu"
timeout 150 /tmp/sv check-gpu $K > $OUT/check-gpu.log 2>&1; echo "check-gpu exit $?"
grep -E "FAIL|all passed|failure|rror|layerNorm|gelu|^add|encoderAttention" $OUT/check-gpu.log | head -24
t "MiniLM shape, dummy weights: GPU f32 / GPU bf16 / CPU"
/tmp/sv serve .gpu/minilm --load-format dummy --device cuda --dtype float32 --port 18100 $K > $OUT/gpu32.log 2>&1 & A=$!
/tmp/sv serve .gpu/minilm --load-format dummy --device cuda --port 18101 $K > $OUT/gpu16.log 2>&1 & B=$!
/tmp/sv serve .gpu/minilm --load-format dummy --device cpu --port 18102 > $OUT/cpu.log 2>&1 & C=$!
for p in 18100 18101 18102; do for i in $(seq 200); do curl -sf localhost:$p/health >/dev/null && break; sleep 0.1; done; done
python3 - <<'PY'
import json, math, urllib.request
texts = ["Hello!", "A man is eating food.", "Le chat est assis sur le tapis.", "東京は日本の首都です。",
         "word " * 200, "The quick brown fox jumps over the lazy dog.", "", "?"]
def embed(port):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/embeddings", data=json.dumps({"input": texts}).encode(),
                                 headers={"Content-Type": "application/json"})
    return [d["embedding"] for d in json.load(urllib.request.urlopen(req))["data"]]
def cos(a, b): return sum(x*y for x, y in zip(a, b)) / math.sqrt(sum(x*x for x in a) * sum(y*y for y in b))
cpu, g32, g16 = embed(18102), embed(18100), embed(18101)
print("GPU f32 vs CPU: worst cosine", min(cos(a, b) for a, b in zip(g32, cpu)))
print("GPU bf16 vs CPU: worst cosine", min(cos(a, b) for a, b in zip(g16, cpu)))
PY
grep -E "pooling model|rror" $OUT/gpu32.log | head -3
kill $A $B $C; wait 2>/dev/null
t "done"
