"""Writes Tests/VLLMCPUTests/Goldens/sampler.json: what PyTorch, following vLLM v1's sampler code
path, computes for a few random rows of logits. The CPU sampler is tested against it.

- logprobs: torch.log_softmax of the raw row, and torch.topk ids (rows have no ties);
- penalties: vLLM's apply_penalties formulas (repetition over prompt|output: logits > 0 divided,
  others multiplied; then frequency * output counts and presence * output mask subtracted);
- filters: temperature, then min-p (vLLM's MinPLogitsProcessor: drop probs < min_p * max prob),
  then vLLM's apply_top_k_top_p (ascending sort; top-k by the k-th largest value; top-p drops the
  ascending prefix whose cumulative mass is <= 1 - p, never the last); the surviving tokens'
  renormalized probabilities.

Run: python3 scripts/make_sampler_goldens.py
"""
import json
import os

import torch

VOCAB = 48
gen = torch.Generator().manual_seed(1234)


def rand_row():
    return (torch.randn(VOCAB, generator=gen) * 2.5).to(torch.float32)


def penalties(logits, prompt, output, rep, freq, pres):
    logits = logits.clone()
    prompt_mask = torch.zeros(VOCAB, dtype=torch.bool)
    prompt_mask[prompt] = True
    counts = torch.zeros(VOCAB, dtype=torch.float32)
    for t in output:
        counts[t] += 1
    output_mask = counts > 0
    rep_t = torch.where(prompt_mask | output_mask, torch.tensor(rep), torch.tensor(1.0))
    logits = torch.where(logits > 0, logits / rep_t, logits * rep_t)
    logits -= freq * counts
    logits -= pres * output_mask.to(torch.float32)
    return logits


def filtered(logits, temperature, min_p, top_k, top_p):
    logits = logits / temperature
    if min_p > 0:
        probs = logits.softmax(-1)
        logits = logits.masked_fill(probs < min_p * probs.max(), -float("inf"))
    logits_sort, logits_idx = logits.sort(descending=False)
    if top_k is not None:
        kth = logits_sort[VOCAB - top_k]
        logits_sort = logits_sort.masked_fill(logits_sort < kth, -float("inf"))
    if top_p < 1:
        probs_sum = logits_sort.softmax(-1).cumsum(-1)
        mask = probs_sum <= 1 - top_p
        mask[-1] = False
        logits_sort = logits_sort.masked_fill(mask, -float("inf"))
    logits = logits_sort.scatter(-1, logits_idx, logits_sort)
    return logits.softmax(-1)


cases = []
filter_params = [
    (1.0, 0.0, None, 1.0),
    (0.7, 0.0, 5, 1.0),
    (1.0, 0.0, None, 0.8),
    (1.3, 0.1, None, 1.0),
    (0.9, 0.05, 10, 0.9),
    (1.0, 0.0, 1, 1.0),
    (2.0, 0.0, None, 0.5),
    (0.5, 0.2, 3, 0.95),
]
penalty_params = [
    ([1, 2, 3], [4, 4, 5], 1.0, 0.5, 0.0),
    ([7, 8], [8, 9, 9, 9], 1.3, 0.0, 0.0),
    ([], [10, 11, 10], 1.0, 0.0, 0.7),
    ([12, 13, 14], [13, 15, 15], 0.8, -0.4, 1.1),
]
for i, (temperature, min_p, top_k, top_p) in enumerate(filter_params):
    raw = rand_row()
    prompt, output, rep, freq, pres = penalty_params[i % len(penalty_params)]
    penalized = penalties(raw, prompt, output, rep, freq, pres)
    probs = filtered(penalized, temperature, min_p, top_k, top_p)
    top = torch.topk(torch.log_softmax(raw, -1), 5)
    cases.append({
        "logits": raw.tolist(),
        "logSoftmax": torch.log_softmax(raw, -1).tolist(),
        "top5": top.indices.tolist(),
        "promptTokenIds": prompt,
        "outputTokenIds": output,
        "repetitionPenalty": rep,
        "frequencyPenalty": freq,
        "presencePenalty": pres,
        "penalizedLogits": penalized.tolist(),
        "temperature": temperature,
        "minP": min_p,
        "topK": top_k,
        "topP": top_p,
        "probabilities": probs.tolist(),
    })

path = os.path.join(os.path.dirname(__file__), "..", "Tests", "VLLMCPUTests", "Goldens", "sampler.json")
with open(path, "w") as f:
    json.dump({"vocabSize": VOCAB, "torch": torch.__version__, "cases": cases}, f, indent=1)
print(f"wrote {len(cases)} cases to {os.path.normpath(path)}")
