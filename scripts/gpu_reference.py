#!/usr/bin/env python3
"""transformers' reference for `swift-vllm check-gpu --model DIR --reference OUT/reference.json`.

Run on the GPU machine (torch + transformers there) on a model folder, e.g. one written by
../shared/bench/hf_peer.py --save DIR. Writes OUT/reference.json (a fixed random token sequence and
transformers' greedy continuation of its first tokens) and OUT/logits.f32 (raw little-endian f32
logits [tokens, vocab], teacher-forced, every position), in bf16 as the model is saved.

usage: python3 gpu_reference.py MODEL_DIR OUT_DIR [--tokens 96] [--greedy-prompt 32] [--greedy 32] [--seed 0]
"""
import argparse, json, os, torch
from transformers import AutoModelForCausalLM

p = argparse.ArgumentParser()
p.add_argument("model"); p.add_argument("out")
p.add_argument("--tokens", type=int, default=96)
p.add_argument("--greedy-prompt", type=int, default=32)
p.add_argument("--greedy", type=int, default=32)
p.add_argument("--seed", type=int, default=0)
a = p.parse_args()
os.makedirs(a.out, exist_ok=True)
model = AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.bfloat16).cuda().eval()
vocab = model.config.vocab_size
generator = torch.Generator().manual_seed(a.seed)
tokens = torch.randint(100, vocab - 100, (1, a.tokens), generator=generator).cuda()
with torch.inference_mode():
    logits = model(input_ids=tokens).logits[0].float().cpu()
    prompt = tokens[:, :a.greedy_prompt]
    out = model.generate(input_ids=prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=a.greedy,
                         min_new_tokens=a.greedy, do_sample=False, pad_token_id=0)
logits.numpy().astype("<f4").tofile(os.path.join(a.out, "logits.f32"))
top2 = logits.topk(2, dim=-1).values
json.dump({"tokens": tokens[0].tolist(), "vocab": vocab, "logits_file": "logits.f32",
           "greedy_prompt_length": a.greedy_prompt, "greedy": out[0, a.greedy_prompt:].tolist(),
           "positions_with_margin_over_0.05": int(((top2[:, 0] - top2[:, 1]) > 0.05).sum())},
          open(os.path.join(a.out, "reference.json"), "w"))
print(json.dumps({"reference": a.out, "tokens": a.tokens, "vocab": vocab}))
