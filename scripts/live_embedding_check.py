#!/usr/bin/env python3
"""Live check of `swift-vllm serve` on all-MiniLM-L6-v2 (a pooling model) with the official openai client:
embeddings.create (its default base64 transfer, and floats) against sentence-transformers' embeddings
(Tests/VLLMModelsTests/Goldens/embeddings/golden.json), token-id input, and the errors vLLM gives."""
import argparse
import json
import math
import os
import sys

import openai

failures = 0


def check(ok, label):
    global failures
    print(("ok: " if ok else "FAIL: ") + label)
    failures += 0 if ok else 1


def cosine(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    return dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--model", required=True)
    args = parser.parse_args()
    golden = json.load(open(os.path.join(os.path.dirname(__file__), "..", "Tests", "VLLMModelsTests", "Goldens",
                                         "embeddings", "golden.json")))["minilm"]
    client = openai.OpenAI(base_url=args.base_url + "/v1", api_key="unused")
    picks = [i for i, ids in enumerate(golden["token_ids"]) if len(ids) < golden["max_seq_length"]][:24]
    sentences = [golden["sentences"][i] for i in picks]
    base64 = client.embeddings.create(model=args.model, input=sentences)  # the client asks for base64
    floats = client.embeddings.create(model=args.model, input=sentences, encoding_format="float")
    worst = min(cosine(d.embedding, golden["embeddings"][i]) for d, i in zip(base64.data, picks))
    check(worst >= 0.9999, f"{len(picks)} sentences (base64) match sentence-transformers: worst cosine {worst:.6f}")
    # JSON carries each float32 in its shortest decimal, base64 its exact bits: equal to float32 precision.
    check(all(math.isclose(x, y, rel_tol=1e-6, abs_tol=1e-9) for a, b in zip(base64.data, floats.data)
              for x, y in zip(a.embedding, b.embedding)), "float and base64 agree")
    check(base64.usage.prompt_tokens == sum(len(golden["token_ids"][i]) for i in picks), "usage counts the tokens")
    ids = client.embeddings.create(model=args.model, input=[golden["token_ids"][picks[3]]], encoding_format="float")
    check(cosine(ids.data[0].embedding, golden["embeddings"][picks[3]]) >= 0.9999, "token-id input")
    # /score and /rerank (vLLM's routes; the openai client has none): cosines as sentence-transformers' cos_sim.
    import urllib.request
    def post(path, body):
        request = urllib.request.Request(args.base_url + path, data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        return json.load(urllib.request.urlopen(request))
    scores = golden["scores"]
    got = post("/score", {"model": args.model, "text_1": scores["query"], "text_2": scores["documents"]})
    check(all(abs(d["score"] - e) < 1e-4 for d, e in zip(got["data"], scores["cos_sim"])) and len(got["data"]) == 5,
          "/score 1:N equals sentence-transformers' cos_sim")
    got = post("/v1/score", {"model": args.model, "text_1": scores["firsts"], "text_2": scores["seconds"]})
    check(all(abs(d["score"] - e) < 1e-4 for d, e in zip(got["data"], scores["pairwise_cos_sim"])), "/v1/score N:N pairwise")
    got = post("/rerank", {"model": args.model, "query": scores["query"], "documents": scores["documents"], "top_n": 3})
    order = sorted(range(5), key=lambda i: -scores["cos_sim"][i])[:3]
    check([r["index"] for r in got["results"]] == order and got["results"][0]["document"]["text"] == scores["documents"][order[0]],
          f"/rerank orders by relevance, top_n 3: {[r['index'] for r in got['results']]}")
    try:
        client.completions.create(model=args.model, prompt="x", max_tokens=1)
        check(False, "completions on a pooling model refused")
    except openai.NotFoundError as e:
        check("embed" in str(e), f"completions → 404 ({str(e)[:90]})")
    try:
        client.embeddings.create(model=args.model, input="word " * 300)
        check(False, "too long input refused")
    except openai.BadRequestError as e:
        check("maximum context length is 256" in str(e), "too long input → 400")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
