#!/usr/bin/env python3
"""Tokenizer encode throughput: swift-vllm against HF tokenizers, single thread, same text, same machine.

Generates >= 1 MB of mixed text (English prose, code, Chinese, Japanese, Korean, Arabic, emoji and ZWJ
sequences, digits, runs of spaces/newlines/tabs) from a fixed seed, checks that both produce the same ids,
and times encode(text, add_special_tokens=False): of the whole text as one string, and of the same text
cut at line ends into documents of about --document-bytes (prompt-sized), one encode call each.

Usage: python3 scripts/bench_tokenizer.py [--seconds 5] [--megabytes 1.2] [--document-bytes 4000] MODEL_DIR ...
Needs a release build: swift build -c release --product swift-vllm
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time

os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
from tokenizers import Tokenizer  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PIECES = [
    "It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness. ",
    "The committee's report, released on Tuesday, didn't say whether they'd reconsider the 2024 budget of $3.5 million. ",
    "def tokenize(text: str) -> list[int]:\n    ids = []\n    for word in text.split():\n        ids.append(vocab.get(word, 0))\n    return ids\n\n",
    "for (size_t i = 0; i < n; ++i) {\n\tif (a[i] != b[i]) return -1;\n}\n",
    "{\"model\": \"qwen\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_tokens\": 128}\n",
    "自然语言处理是人工智能的一个重要领域，它研究如何让计算机理解和生成人类语言。",
    "東京都は日本の首都であり、人口は約1400万人です。カタカナとひらがなと漢字を使います。",
    "한국어 문장도 포함됩니다. 오늘 날씨가 좋네요! ",
    "مرحبا بكم في عالم معالجة اللغات الطبيعية. ",
    "Emoji 😀 👍🏽 🇯🇵 👨‍👩‍👧‍👦 ❤️‍🔥 🤗 ",
    "    indented line with    internal   spaces\n\n\n",
    "Numbers: 3.14159 2.71828 1,234,567 0xDEADBEEF 2025-01-15T12:00:00Z ",
    "Ünïcödé àccents, naïve café, Zürich, São Paulo, Ægir. ",
    "\t\tTabbed\tcolumns\tof\tdata\n",
]


def make_text(megabytes, seed=1234):
    rng = random.Random(seed)
    parts = []
    size = 0
    while size < megabytes * 1_000_000:
        piece = rng.choice(PIECES)
        if rng.random() < 0.3:
            words = piece.split(" ")
            rng.shuffle(words)
            piece = " ".join(words)
        parts.append(piece)
        size += len(piece.encode("utf-8"))
    return "".join(parts)


def split_documents(text, size):
    documents, current = [], ""
    for line in text.splitlines(keepends=True):
        current += line
        if len(current.encode("utf-8")) >= size:
            documents.append(current)
            current = ""
    if current:
        documents.append(current)
    return documents


def bench_hf(model_dir, documents, seconds):
    tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    ids = [i for d in documents for i in tok.encode(d, add_special_tokens=False).ids]  # warm-up, reference ids
    runs, best, start = 0, float("inf"), time.perf_counter()
    while time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        for document in documents:
            tok.encode(document, add_special_tokens=False)
        best = min(best, time.perf_counter() - t0)
        runs += 1
    mean = (time.perf_counter() - start) / runs
    return ids, mean, best, runs


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("models", nargs="+")
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--megabytes", type=float, default=1.2)
    parser.add_argument("--document-bytes", type=int, default=4000)
    args = parser.parse_args()
    binary = os.path.join(ROOT, ".build", "release", "swift-vllm")
    text = make_text(args.megabytes)
    mb = len(text.encode("utf-8")) / 1e6
    for label, documents in [("one string", [text]), (f"documents of ~{args.document_bytes} B", split_documents(text, args.document_bytes))]:
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
            f.write("\x1e".join(documents))
            path = f.name
        print(f"== {mb:.2f} MB of mixed text as {label} ({len(documents)} encode calls)")
        for model in args.models:
            ids, mean, best, runs = bench_hf(model, documents, args.seconds)
            # Same ids from swift-vllm (the tokenize filter) before timing it.
            lines = "\n".join(json.dumps({"text": d, "add_special_tokens": False}) for d in documents)
            reply = subprocess.run([binary, "tokenize", "--model", model], input=lines, capture_output=True, text=True,
                                   check=True).stdout
            swift_ids = [i for line in reply.splitlines() for i in json.loads(line).get("ids", [])]
            swift = subprocess.run([binary, "tokenize", "--model", model, "--benchmark", path, "--benchmark-seconds",
                                    str(args.seconds)], capture_output=True, text=True, check=True).stdout.strip()
            print(f"{os.path.basename(model.rstrip('/'))}: {len(ids)} tokens, ids identical: {swift_ids == ids}")
            print(f"  HF tokenizers {__import__('tokenizers').__version__}: {runs} runs, mean {mean:.3f} s ({mb / mean:.2f} MB/s), "
                  f"best {best:.3f} s ({mb / best:.2f} MB/s)")
            print(f"  {swift}")
        os.unlink(path)


if __name__ == "__main__":
    sys.exit(main())
