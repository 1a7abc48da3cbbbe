#!/bin/bash
# H200, embedding lease 3/3: BAAI/bge-m3's shape (scripts/make_bge_m3_shape.py: XLMRobertaModel, random weights by
# transformers, CLS + Normalize) embedding 1,000 synthetic sentences of 128 words (BenchCommand.Embed.synthetic, the
# same on every side, one tokenizer), bf16 on the GPU: swift-vllm's `bench embed`, sentence-transformers 6.2.0
# (wheels carried in .gpu/bge; batch 32, its default, and 256) and vLLM 0.26.0's offline LLM.embed.
export PYTHONUNBUFFERED=1
gunzip -c .gpu/swift-vllm.gz > /tmp/sv && chmod +x /tmp/sv
S=$(date +%s); t() { echo "[t=$(( $(date +%s) - S ))s] $*"; }
python3 scripts/make_bge_m3_shape.py /tmp/bge .gpu/bge 2>&1 | tail -1
t ours
timeout 120 /tmp/sv bench embed --model /tmp/bge --dtype bfloat16 --num-prompts 1000 --input-len 128 --num-iters 3 \
  --kernel-cache-dir /tmp/kc 2>$OUT/ours.log | tee $OUT/ours.json; tail -2 $OUT/ours.log
if [ -z "$SKIP_ST" ]; then t sentence-transformers
pip install -q --no-deps --target /tmp/st .gpu/bge/*.whl > $OUT/pip.log 2>&1; tail -2 $OUT/pip.log
for b in 32 256; do
  PYTHONPATH=/tmp/st timeout 120 python3 scripts/embedding_peer.py /tmp/bge --device cuda --dtype bfloat16 --num-prompts 1000 \
    --input-len 128 --batch-size $b > $OUT/st-b$b.log 2>&1; grep '^{' $OUT/st-b$b.log || tail -3 $OUT/st-b$b.log
done
fi; t vllm
PYTHONPATH=/root/site VLLM_USE_FLASHINFER_SAMPLER=0 timeout 240 python3 scripts/embedding_peer.py /tmp/bge --engine vllm \
  --device cuda --dtype bfloat16 --num-prompts 1000 --input-len 128 > $OUT/vllm.log 2>&1; grep '^{' $OUT/vllm.log || tail -5 $OUT/vllm.log
t done
