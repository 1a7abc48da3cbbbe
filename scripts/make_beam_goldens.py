#!/usr/bin/env python3
"""Beam search goldens from transformers: generate(num_beams=k, num_return_sequences=k, do_sample=False) with a
fixed output length (EOS disabled), where its scoring and vLLM's agree (every beam has the same length, so
ranking by cumulative logprob / length^penalty is ranking by cumulative logprob). For each returned beam the
cumulative logprob is recomputed by a teacher-forced forward (log_softmax at each generated position).

Models: the tiny random goldens of make_model_goldens.py (llama, qwen2) and ../shared/models/stories260K.
Writes Tests/VLLMEngineTests/Goldens/beam_search.json. Run once (pip install torch transformers); commit it.
"""
import json, os
import torch
from transformers import AutoModelForCausalLM

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = os.path.join(ROOT, "Tests", "VLLMModelsTests", "Goldens")
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
OUT = os.path.join(ROOT, "Tests", "VLLMEngineTests", "Goldens")

CASES = [  # (model folder, prompt, beam width, new tokens, length penalty)
    ("llama", [1, 5, 17, 33, 2, 40, 71], 2, 10, 1.0),
    ("llama", [1, 60, 61, 62], 4, 12, 0.5),
    ("qwen2", [3, 9, 27, 81, 11, 13], 3, 10, 1.0),
    ("stories260K", [1], 4, 24, 1.0),
    ("stories260K", [1, 403, 261, 370], 3, 20, 2.0),
]


def folder(name):
    return os.path.join(SHARED, "models", name) if name == "stories260K" else os.path.join(MODELS, name)


def cumulative_logprob(model, prompt, tokens):
    ids = torch.tensor([prompt + tokens])
    with torch.no_grad():
        logprobs = torch.log_softmax(model(ids).logits[0].float(), dim=-1)
    return sum(float(logprobs[len(prompt) - 1 + i, t]) for i, t in enumerate(tokens))


def main():
    torch.manual_seed(0)
    cases = []
    for name, prompt, width, length, penalty in CASES:
        model = AutoModelForCausalLM.from_pretrained(folder(name), torch_dtype=torch.float32).eval()
        # No EOS at all (not masked: masking would renormalize each beam's logprobs differently).
        model.generation_config.eos_token_id = None
        model.config.eos_token_id = None
        ids = torch.tensor([prompt])
        out = model.generate(ids, attention_mask=torch.ones_like(ids), num_beams=width, num_return_sequences=width,
                             do_sample=False, max_new_tokens=length, pad_token_id=0, length_penalty=penalty,
                             early_stopping=False, use_cache=True)
        assert out.shape[1] == len(prompt) + length, out.shape
        beams = [row[len(prompt):].tolist() for row in out]
        cases.append({"model": name, "prompt": prompt, "beam_width": width, "max_tokens": length, "length_penalty": penalty,
                      "beams": [{"token_ids": b, "cumulative_logprob": cumulative_logprob(model, prompt, b)} for b in beams]})
    os.makedirs(OUT, exist_ok=True)
    import transformers
    with open(os.path.join(OUT, "beam_search.json"), "w") as f:
        json.dump({"transformers": transformers.__version__, "torch": torch.__version__, "cases": cases}, f, indent=1)
    print(f"wrote {len(cases)} cases")


main()
