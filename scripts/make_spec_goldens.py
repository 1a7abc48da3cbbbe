#!/usr/bin/env python3
"""Goldens for speculative decoding's n-gram drafter (Tests/VLLMCoreTests/Goldens/ngram.json): vLLM 0.26.0's own
`_find_longest_matched_ngram_and_propose_tokens` (vllm/v1/spec_decode/ngram_proposer.py, taken from its source, numba's
`jit` replaced by the plain function) on token sequences with repeats — random ones over small vocabularies, and
stories260K's prompt + transformers' greedy story (Tests/VLLMModelsTests/Goldens/stories260K.json) at every length.

  python3 scripts/make_spec_goldens.py --vllm-site DIR   # DIR holds vllm/ (the peer's site-packages)
"""
import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_bench_goldens import vllm_functions  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def load(site: Path):
    name = "_find_longest_matched_ngram_and_propose_tokens"
    return vllm_functions(site / "vllm/v1/spec_decode/ngram_proposer.py", {name}, {"np": np})[name]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--vllm-site", type=Path, required=True)
    args = parser.parse_args()
    propose = load(args.vllm_site)
    rng = random.Random(17)
    cases = []
    for _ in range(300):
        vocab = rng.choice([2, 3, 5, 20])
        length = rng.randint(0, 60)
        tokens = [rng.randrange(vocab) for _ in range(length)]
        low = rng.randint(1, 4)
        high = rng.randint(low, 6)
        k = rng.randint(1, 8)
        max_model_len = rng.choice([length + 1, length + 3, 4096]) if length else 16
        out = propose(np.array(tokens, dtype=np.int32), low, high, max_model_len, k).tolist()
        cases.append({"tokens": tokens, "min": low, "max": high, "k": k, "max_model_len": max_model_len, "proposal": out})
    story = json.load(open(ROOT / "Tests/VLLMModelsTests/Goldens/stories260K.json"))
    full = story["prompt_token_ids"] + story["greedy_token_ids"]
    for length in range(1, len(full) + 1, 3):
        tokens = full[:length]
        out = propose(np.array(tokens, dtype=np.int32), 2, 4, 4096, 5).tolist()
        cases.append({"tokens": tokens, "min": 2, "max": 4, "k": 5, "max_model_len": 4096, "proposal": out})
    out = ROOT / "Tests/VLLMCoreTests/Goldens/ngram.json"
    out.write_text(json.dumps({"source": "vllm 0.26.0 vllm/v1/spec_decode/ngram_proposer.py", "cases": cases}) + "\n")
    print("wrote", out, len(cases), "cases,", sum(1 for c in cases if c["proposal"]), "with a proposal")


if __name__ == "__main__":
    main()
