#!/usr/bin/env python3
"""The peer of `swift-vllm bench embed`: sentence-transformers encoding the same synthetic sentences
(BenchCommand.Embed.synthetic) from a model folder, embeddings a second (median of --num-iters passes
after a warm-up). Usage: python3 scripts/embedding_peer.py DIR [--num-prompts 1000] [--input-len 32]
[--batch-size 32] [--device cpu]"""
import argparse
import json
import statistics
import time

import torch
from sentence_transformers import SentenceTransformer

VOCABULARY = ["the", "model", "embeds", "every", "sentence", "into", "a", "vector", "of", "numbers",
              "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "river", "bank", "money"]


def synthetic(count, words):
    return [" ".join(VOCABULARY[(i * 7 + j * 13 + j * j) % len(VOCABULARY)] for j in range(words)) for i in range(count)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("--num-prompts", type=int, default=1000)
    parser.add_argument("--input-len", type=int, default=32)
    parser.add_argument("--num-iters", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    model = SentenceTransformer(args.model, device=args.device)
    sentences = synthetic(args.num_prompts, args.input_len)
    model.encode(sentences, batch_size=args.batch_size)
    seconds = []
    for _ in range(args.num_iters):
        start = time.perf_counter()
        model.encode(sentences, batch_size=args.batch_size)
        seconds.append(time.perf_counter() - start)
    median = statistics.median(seconds)
    print(json.dumps({"workload": "embed", "engine": "sentence-transformers", "sentences": len(sentences),
                      "seconds_median": median, "embeddings_per_s": len(sentences) / median,
                      "torch_threads": torch.get_num_threads(), "batch_size": args.batch_size}))


if __name__ == "__main__":
    main()
