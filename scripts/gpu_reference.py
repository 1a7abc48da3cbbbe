#!/usr/bin/env python3
"""transformers' references for `swift-vllm check-gpu --model DIR --reference OUT/VARIANT/reference.json`.

Run on the GPU machine (torch + transformers there) on a model folder, e.g. one written by
../shared/bench/hf_peer.py --save DIR. For each variant it writes OUT/VARIANT/reference.json (a fixed
random token sequence and transformers' greedy continuation of its first tokens) and
OUT/VARIANT/logits.f32 (raw little-endian f32 logits [tokens, vocab], teacher-forced, every position).
The model loads once; the variants differ only in how transformers computes the same forward:

  bf16             the model in bf16, SDPA attention, PyTorch's defaults: one prefill (the reference)
  bf16-noreduce    torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction = False
                   (cuBLAS's split-K partial sums kept in f32 instead of bf16)
  bf16-lt          torch.backends.cuda.preferred_blas_library("cublaslt") (cuBLASLt's heuristic, as ours)
  bf16-efficient   SDPA's memory-efficient attention kernel instead of flash attention
  bf16-batch2      the sequence in a batch of two (beside another random sequence of the same length)
  bf16-incremental one decode step per position through transformers' KV cache
  bf16-flip        the reference with one bf16 ulp added to a random 1% of every decoder layer's outputs:
                   how far such a small disagreement travels through the model
  f32              the model in f32 (TF32 off); run last, it converts the weights

It then prints every variant's distance from the first, in check-gpu's metric (per position
‖a − b‖ / ‖b‖ over the vocabulary, worst and mean; argmax agreement where the first's top-two margin
exceeds 0.05).

usage: python3 gpu_reference.py MODEL_DIR OUT_DIR [--variants bf16,f32] [--tokens 96] [--seed 0]
"""
import argparse, contextlib, json, os, torch
from transformers import AutoModelForCausalLM

VARIANTS = ["bf16", "bf16-noreduce", "bf16-lt", "bf16-efficient", "bf16-batch2", "bf16-incremental", "bf16-flip",
            "f32"]
p = argparse.ArgumentParser()
p.add_argument("model"); p.add_argument("out")
p.add_argument("--variants", default="bf16", help="comma-separated, of " + ", ".join(VARIANTS))
p.add_argument("--tokens", type=int, default=96)
p.add_argument("--greedy-prompt", type=int, default=32)
p.add_argument("--greedy", type=int, default=32)
p.add_argument("--seed", type=int, default=0)
a = p.parse_args()
variants = a.variants.split(",")
unknown = [v for v in variants if v not in VARIANTS]
assert not unknown, f"unknown variants {unknown}; known: {VARIANTS}"
assert "f32" not in variants[:-1], "f32 converts the model: list it last"

device = "cuda" if torch.cuda.is_available() else "cpu"  # the CPU only to try the script out
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
model = AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.bfloat16, attn_implementation="sdpa").to(device).eval()
vocab = model.config.vocab_size
generator = torch.Generator().manual_seed(a.seed)
tokens = torch.randint(100, vocab - 100, (1, a.tokens), generator=generator).to(device)
other = torch.randint(100, vocab - 100, (1, a.tokens), generator=generator).to(device)


@contextlib.contextmanager
def setting(variant):
    """PyTorch's switches for one variant, restored after it."""
    matmul = torch.backends.cuda.matmul
    saved = (matmul.allow_bf16_reduced_precision_reduction, torch.backends.cuda.preferred_blas_library())
    try:
        if variant == "bf16-noreduce":
            matmul.allow_bf16_reduced_precision_reduction = False
        if variant == "bf16-lt":
            torch.backends.cuda.preferred_blas_library("cublaslt")
        if variant == "bf16-flip":
            flips = torch.Generator(device=device).manual_seed(a.seed)

            def flip(module, inputs, output):
                hidden = output[0] if isinstance(output, tuple) else output
                chosen = torch.rand(hidden.shape, generator=flips, device=hidden.device) < 0.01
                bits = hidden.view(torch.int16)
                bits[chosen] += 1
            hooks = [layer.register_forward_hook(flip) for layer in model.model.layers]
            try:
                yield
            finally:
                for hook in hooks: hook.remove()
        elif variant == "bf16-efficient":
            from torch.nn.attention import sdpa_kernel, SDPBackend
            with sdpa_kernel(SDPBackend.EFFICIENT_ATTENTION):
                yield
        else:
            yield
    finally:
        matmul.allow_bf16_reduced_precision_reduction = saved[0]
        torch.backends.cuda.preferred_blas_library(saved[1])


def forward(variant):
    """Teacher-forced logits [tokens, vocab] (f32, host) of one variant."""
    if variant == "f32":
        model.float()
    with setting(variant):
        if variant == "bf16-incremental":
            cache, rows = None, []
            for position in range(a.tokens):
                out = model(input_ids=tokens[:, position:position + 1], past_key_values=cache, use_cache=True)
                cache = out.past_key_values
                rows.append(out.logits[0, -1].float().cpu())
            return torch.stack(rows)
        if variant == "bf16-batch2":
            return model(input_ids=torch.cat([other, tokens])).logits[1].float().cpu()
        return model(input_ids=tokens).logits[0].float().cpu()


def distance(got, want):
    errors = (got.double() - want.double()).norm(dim=1) / want.double().norm(dim=1)
    top2 = want.topk(2, dim=-1).values
    checked = (top2[:, 0] - top2[:, 1]) > 0.05
    equal = got.argmax(dim=1) == want.argmax(dim=1)
    return {"worst": float(errors.max()), "mean": float(errors.mean()), "positions_over_2e-2": int((errors > 2e-2).sum()),
            "argmax_equal_where_margin": f"{int(equal[checked].sum())}/{int(checked.sum())}"}


results = {}
with torch.inference_mode():
    for variant in variants:
        try:
            logits = forward(variant)
        except Exception as error:  # e.g. an SDPA backend that does not take this shape: say so, go on
            print(json.dumps({"variant": variant, "error": str(error)[:300]}), flush=True)
            continue
        results[variant] = logits
        folder = os.path.join(a.out, variant)
        os.makedirs(folder, exist_ok=True)
        logits.numpy().astype("<f4").tofile(os.path.join(folder, "logits.f32"))
        greedy = []
        if variant == variants[0]:
            prompt = tokens[:, :a.greedy_prompt]
            out = model.generate(input_ids=prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=a.greedy,
                                 min_new_tokens=a.greedy, do_sample=False, pad_token_id=0)
            greedy = out[0, a.greedy_prompt:].tolist()
        top2 = logits.topk(2, dim=-1).values
        json.dump({"tokens": tokens[0].tolist(), "vocab": vocab, "logits_file": "logits.f32",
                   "greedy_prompt_length": a.greedy_prompt if greedy else 0, "greedy": greedy, "variant": variant,
                   "positions_with_margin_over_0.05": int(((top2[:, 0] - top2[:, 1]) > 0.05).sum())},
                  open(os.path.join(folder, "reference.json"), "w"))
        print(json.dumps({"reference": folder, "tokens": a.tokens, "vocab": vocab, "torch": torch.__version__}), flush=True)
first = variants[0]
for variant in [v for v in variants[1:] if v in results]:
    print(json.dumps({"a": variant, "b": first, **distance(results[variant], results[first])}), flush=True)
