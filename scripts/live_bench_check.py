#!/usr/bin/env python3
"""Live check of `swift-vllm bench serve` and `bench quality` (issue #16) against the real binary.

- bench serve loads `serve` of the demo model and of stories260K (CPU): its counts equal the server's /metrics deltas (read with
  prometheus_client's parser), its figures hang together (throughput × duration = tokens, ordered percentiles,
  one inter-token gap per streamed token), the same seed sends the same prompts, the chat backend works, and
  refusing or absent servers are counted and reported while the run completes.
- serve --speculative-config (n-gram, and a draft model: stories260K cut to its first four layers) gives the
  unspeculated server's greedy texts; bench serve's spec-decode fields equal the /metrics deltas.
- bench quality scores stories260K's chat answers with all-MiniLM-L6-v2 served by `serve --task embed`:
  accuracy and mean cosine equal numpy's, computed from embeddings the openai client fetched itself.
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
from prometheus_client.parser import text_string_to_metric_families

TEMPLATE = "{% for m in messages %}{{ m['content'] }}{% endfor %}"


def start(bin_, args, port):
    log = tempfile.NamedTemporaryFile("w+", delete=False)
    process = subprocess.Popen([bin_, "serve", *args, "--host", "127.0.0.1", "--port", str(port), "--device", "cpu",
                                "--disable-log-requests"], stdout=log, stderr=subprocess.STDOUT)
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
            return process
        except Exception:
            time.sleep(0.2)
    process.kill()
    sys.exit(f"FAIL: serve {args} did not start: {open(log.name).read()[-2000:]}")


def metric_totals(port, keep):
    """The server's /metrics samples whose name `keep` accepts, summed over labels (prometheus_client's parser); a
    per-position sample is keyed name[position]."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
    totals = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if keep(sample.name):
                key = sample.name + (f"[{sample.labels['position']}]" if "position" in sample.labels else "")
                totals[key] = totals.get(key, 0) + sample.value
    return totals


def counters(port):
    return metric_totals(port, lambda name: name in (
        "vllm:request_success_total", "vllm:prompt_tokens_total", "vllm:generation_tokens_total"))


def bench(bin_, args, expect_ok=True):
    result = subprocess.run([bin_, "bench", *args], capture_output=True, text=True, timeout=600)
    if expect_ok and result.returncode != 0:
        sys.exit(f"FAIL: bench {' '.join(args)} exited {result.returncode}: {result.stdout[-2000:]} {result.stderr[-2000:]}")
    return result


def close(a, b, tol=1e-6):
    return abs(a - b) <= tol * max(1.0, abs(b))


def check_counts(bin_, port, model, tokenizer, out, name):
    """One seeded run against the server on `port`: its counts equal the server's /metrics deltas, its figures
    hang together. Returns the saved result and the flags it ran with."""
    base = f"http://127.0.0.1:{port}"
    common = ["serve", "--base-url", base, "--model", model, "--tokenizer", tokenizer, "--num-prompts", "40",
              "--random-input-len", "32", "--random-output-len", "16", "--request-rate", "60", "--burstiness", "0.5",
              "--seed", "7", "--save-result", "--save-detailed", "--result-dir", str(out),
              "--percentile-metrics", "ttft,tpot,itl,e2el", "--metric-percentiles", "25,50,99", "--goodput", "e2el:100000"]
    before = counters(port)
    bench(bin_, common + ["--result-filename", f"{name}.json"])
    after = counters(port)
    a = json.load(open(out / f"{name}.json"))
    delta = {k: after[k] - before.get(k, 0) for k in after}
    assert a["completed"] == 40 and a["failed"] == 0, a["errors"]
    assert delta["vllm:request_success_total"] == a["completed"], (delta, a["completed"])
    assert delta["vllm:prompt_tokens_total"] == a["total_input_tokens"], (delta, a["total_input_tokens"])
    assert delta["vllm:generation_tokens_total"] == a["total_output_tokens"], (delta, a["total_output_tokens"])
    d = a["duration"]
    assert close(a["request_throughput"] * d, a["completed"])
    assert close(a["output_throughput"] * d, a["total_output_tokens"])
    assert close(a["total_token_throughput"] * d, a["total_input_tokens"] + a["total_output_tokens"])
    assert close(a["request_goodput"], a["request_throughput"])  # every request within 100 s
    assert sum(a["output_lens"]) == a["total_output_tokens"] and sum(a["input_lens"]) == a["total_input_tokens"]
    assert all(len(itl) == n - 1 for itl, n in zip(a["itls"], a["output_lens"])), "one gap per streamed token"
    for m in ["ttft", "tpot", "itl", "e2el"]:
        assert a[f"p25_{m}_ms"] <= a[f"p50_{m}_ms"] <= a[f"p99_{m}_ms"], m
        assert close(a[f"p50_{m}_ms"], a[f"median_{m}_ms"]), m
    assert list(a.keys())[:10] == ["date", "endpoint_type", "backend", "label", "model_id", "tokenizer_id",
                                   "num_prompts", "request_rate", "burstiness", "max_concurrency"], list(a.keys())
    return a, common


def check_demo(bin_, gpt2, port, out):
    server = start(bin_, ["--served-model-name", "demo", "--max-model-len", "512"], port)
    try:
        a, _ = check_counts(bin_, port, "demo", gpt2, out, "demo")
        print(f"ok: bench serve against the demo model: 40 requests, counts = /metrics deltas "
              f"({a['total_input_tokens']} prompt, {a['total_output_tokens']} generated tokens), figures consistent")
    finally:
        server.terminate()
        server.wait()


def check_serve(bin_, stories, port, out):
    server = start(bin_, [stories, "--served-model-name", "stories", "--chat-template", TEMPLATE], port)
    try:
        base = f"http://127.0.0.1:{port}"
        a, common = check_counts(bin_, port, "stories", stories, out, "a")
        # The same seed sends the same prompts (the server counts the same prompt tokens for each request).
        bench(bin_, common + ["--result-filename", "b.json"])
        b = json.load(open(out / "b.json"))
        assert a["input_lens"] == b["input_lens"], "the same seed gave other prompts"
        bench(bin_, common + ["--result-filename", "c.json", "--seed", "8"])
        assert json.load(open(out / "c.json"))["input_lens"] != a["input_lens"], "another seed gave the same prompts"
        print(f"ok: bench serve against serve stories260K: 40 requests, counts = /metrics deltas "
              f"({a['total_input_tokens']} prompt, {a['total_output_tokens']} generated tokens), figures consistent, "
              f"same seed → same prompts")

        # The chat backend.
        chat = bench(bin_, ["serve", "--backend", "openai-chat", "--endpoint", "/v1/chat/completions", "--base-url", base,
                            "--model", "stories", "--tokenizer", stories, "--num-prompts", "8", "--random-input-len", "16",
                            "--random-output-len", "8", "--save-result", "--result-dir", str(out), "--result-filename",
                            "chat.json"])
        c = json.load(open(out / "chat.json"))
        assert c["completed"] == 8 and c["total_output_tokens"] == 64, (c, chat.stdout[-1000:])

        # A server that refuses every request (an unknown model), and no server at all: counted, reported, exit 0.
        refused = bench(bin_, ["serve", "--base-url", base, "--model", "nope", "--tokenizer", stories, "--num-prompts", "5",
                               "--random-input-len", "8", "--random-output-len", "4", "--save-result", "--save-detailed",
                               "--result-dir", str(out), "--result-filename", "refused.json"])
        r = json.load(open(out / "refused.json"))
        assert r["completed"] == 0 and r["failed"] == 5, r
        assert all("404" in e and "nope" in e for e in r["errors"]), r["errors"]
        assert "Failed requests:                         5" in refused.stdout, refused.stdout
        print("ok: bench serve --backend openai-chat streams chat; a refusing server's 5 requests are counted failed with "
              "their 404s and the run completes")
    finally:
        server.terminate()
        server.wait()
    absent = bench(bin_, ["serve", "--base-url", f"http://127.0.0.1:{port}", "--model", "stories", "--tokenizer", stories,
                          "--num-prompts", "3", "--random-input-len", "8", "--random-output-len", "4"])
    assert "Failed requests:                         3" in absent.stdout, absent.stdout
    print("ok: bench serve against a stopped server reports its 3 failed requests and exits 0")


def spec_counters(port):
    return metric_totals(port, lambda name: name.startswith("vllm:spec_decode"))


def truncated_copy(model, layers, out):
    """`model`'s folder with config.json saying `layers` layers, beside links to its other files: a draft model."""
    folder = out / f"draft-{layers}-layers"
    folder.mkdir(exist_ok=True)
    for item in Path(model).iterdir():
        if item.name != "config.json" and not (folder / item.name).exists():
            (folder / item.name).symlink_to(item.resolve())
    config = json.load(open(Path(model) / "config.json"))
    config["num_hidden_layers"] = layers
    json.dump(config, open(folder / "config.json", "w"))
    return str(folder)


def check_speculative(bin_, stories, port, out, config, name):
    """`serve --speculative-config CONFIG`: greedy texts over HTTP equal an unspeculated server's; bench serve's
    spec_decode_* result fields equal the /metrics deltas prometheus_client reads."""
    spec = start(bin_, [stories, "--served-model-name", "stories", "--speculative-config", config], port)
    plain = start(bin_, [stories, "--served-model-name", "stories"], port + 1)
    try:
        common = ["serve", "--model", "stories", "--tokenizer", stories, "--num-prompts", "16", "--random-input-len", "24",
                  "--random-output-len", "64", "--temperature", "0", "--seed", "3", "--save-result", "--save-detailed",
                  "--result-dir", str(out)]
        before = spec_counters(port)
        bench(bin_, common + ["--base-url", f"http://127.0.0.1:{port}", "--result-filename", "spec.json"])
        after = spec_counters(port)
        bench(bin_, common + ["--base-url", f"http://127.0.0.1:{port + 1}", "--result-filename", "plain.json"])
        s = json.load(open(out / "spec.json"))
        p = json.load(open(out / "plain.json"))
        assert s["completed"] == 16 and s["generated_texts"] == p["generated_texts"], "speculation changed greedy text"
        delta = {k: after[k] - before.get(k, 0) for k in after}
        drafts = delta["vllm:spec_decode_num_drafts_total"]
        assert drafts > 0 and s["spec_decode_num_drafts"] == drafts, (s.get("spec_decode_num_drafts"), delta)
        assert s["spec_decode_draft_tokens"] == delta["vllm:spec_decode_num_draft_tokens_total"]
        assert s["spec_decode_accepted_tokens"] == delta["vllm:spec_decode_num_accepted_tokens_total"]
        assert close(s["spec_decode_acceptance_rate"], 100 * s["spec_decode_accepted_tokens"] / s["spec_decode_draft_tokens"])
        per_pos = [delta[f"vllm:spec_decode_num_accepted_tokens_per_pos_total[{i}]"] / drafts for i in range(4)]
        assert all(close(a, b) for a, b in zip(s["spec_decode_per_position_acceptance_rates"], per_pos)), per_pos
        print(f"ok: serve --speculative-config ({name}, k = 4): greedy texts over HTTP equal the unspeculated server's; "
              f"bench serve's acceptance {s['spec_decode_acceptance_rate']:.1f} % and counts = the /metrics deltas")
    finally:
        for process in (spec, plain):
            process.terminate()
            process.wait()


def check_quality(bin_, stories, minilm, port, out):
    chat = start(bin_, [stories, "--served-model-name", "stories", "--chat-template", TEMPLATE], port)
    embed = start(bin_, [minilm, "--served-model-name", "minilm"], port + 1)
    try:
        questions = ["Once upon a time", "The little dog", "Lily went to the park", "Tom had a red ball",
                     "The sun was hot", "A big fish", "Mom said", "They played all day"]
        dataset = out / "quality.jsonl"
        with open(dataset, "w") as f:
            for i, q in enumerate(questions):
                reference = q + " and they were happy." if i % 2 == 0 else "Quarterly revenue rose by four percent."
                f.write(json.dumps({"messages": [{"role": "user", "content": q}], "reference": reference}) + "\n")
        bench(bin_, ["quality", "--base-url", f"http://127.0.0.1:{port}", "--model", "stories", "--dataset", str(dataset),
                     "--embedding-base-url", f"http://127.0.0.1:{port + 1}", "--embedding-model", "minilm",
                     "--max-tokens", "24", "--threshold", "0.5", "--concurrency", "3",
                     "--output-jsonl", str(out / "quality-lines.jsonl"), "--result-json", str(out / "quality.json")])
        lines = [json.loads(l) for l in open(out / "quality-lines.jsonl")]
        summary = json.load(open(out / "quality.json"))
        from openai import OpenAI
        client = OpenAI(base_url=f"http://127.0.0.1:{port + 1}/v1", api_key="none")
        answers = [l["answer"] for l in lines]
        references = [l["reference"] for l in lines]
        a = np.array([d.embedding for d in client.embeddings.create(model="minilm", input=answers).data])
        b = np.array([d.embedding for d in client.embeddings.create(model="minilm", input=references).data])
        cosines = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
        assert len(lines) == len(questions) and all(l["error"] is None for l in lines), lines
        assert all(abs(l["cosine"] - c) < 1e-5 for l, c in zip(lines, cosines)), (lines, cosines)
        assert abs(summary["accuracy"] - float(np.mean(cosines >= 0.5))) < 1e-12, (summary, cosines)
        assert abs(summary["mean_cosine"] - float(np.mean(cosines))) < 1e-5, (summary, cosines)
        print(f"ok: bench quality: accuracy {summary['accuracy']:.3f} and mean cosine {summary['mean_cosine']:.4f} equal "
              f"numpy's from the openai client's MiniLM embeddings")
    finally:
        for p in (chat, embed):
            p.terminate()
            p.wait()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--stories", required=True)
    parser.add_argument("--gpt2", required=True, help="a tokenizer folder for prompts to the demo model")
    parser.add_argument("--minilm")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp())
    check_demo(args.bin, args.gpt2, args.port + 4, out)
    check_serve(args.bin, args.stories, args.port, out)
    check_speculative(args.bin, args.stories, args.port + 5, out, name="n-gram",
                      config='{"method": "ngram", "num_speculative_tokens": 4, "prompt_lookup_min": 2, "prompt_lookup_max": 4}')
    draft = truncated_copy(args.stories, 4, out)
    check_speculative(args.bin, args.stories, args.port + 5, out, name="a draft model",
                      config=json.dumps({"model": draft, "num_speculative_tokens": 4}))
    if args.minilm:
        check_quality(args.bin, args.stories, args.minilm, args.port + 2, out)
    else:
        print("SKIPPED: bench quality live check (no MiniLM folder)")


if __name__ == "__main__":
    main()
