#!/usr/bin/env python3
"""The peers of `swift-vllm bench embed`: the same synthetic sentences (BenchCommand.Embed.synthetic) embedded from a
model folder by sentence-transformers (default) or by vLLM's offline `LLM.embed` (`--engine vllm`), embeddings a
second (median of --num-iters passes after a warm-up).
Usage: python3 scripts/embedding_peer.py DIR [--engine sentence-transformers|vllm] [--num-prompts 1000]
[--input-len 32] [--batch-size 32] [--device cpu|cuda] [--dtype float32|bfloat16]"""
import argparse
import json
import statistics
import time

import torch

VOCABULARY = ["the", "model", "embeds", "every", "sentence", "into", "a", "vector", "of", "numbers",
              "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "river", "bank", "money"]


def synthetic(count, words):
    return [" ".join(VOCABULARY[(i * 7 + j * 13 + j * j) % len(VOCABULARY)] for j in range(words)) for i in range(count)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("--engine", default="sentence-transformers", choices=["sentence-transformers", "vllm"])
    parser.add_argument("--num-prompts", type=int, default=1000)
    parser.add_argument("--input-len", type=int, default=32)
    parser.add_argument("--num-iters", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    args = parser.parse_args()
    sentences = synthetic(args.num_prompts, args.input_len)
    if args.engine == "vllm":
        from vllm import LLM
        llm = LLM(model=args.model, runner="pooling", dtype=args.dtype)
        encode = lambda: llm.embed(sentences, use_tqdm=False)
        version = __import__("vllm").__version__
    else:
        from sentence_transformers import SentenceTransformer
        model = SentenceTransformer(args.model, device=args.device,
                                    model_kwargs={"torch_dtype": getattr(torch, args.dtype)})
        encode = lambda: model.encode(sentences, batch_size=args.batch_size)
        version = __import__("sentence_transformers").__version__
    encode()
    seconds = []
    for _ in range(args.num_iters):
        if args.device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        encode()
        if args.device == "cuda":
            torch.cuda.synchronize()
        seconds.append(time.perf_counter() - start)
    median = statistics.median(seconds)
    print(json.dumps({"workload": "embed", "engine": args.engine, "version": version, "sentences": len(sentences),
                      "seconds_median": median, "embeddings_per_s": len(sentences) / median,
                      "torch_threads": torch.get_num_threads(), "batch_size": args.batch_size, "dtype": args.dtype}))


if __name__ == "__main__":
    main()
