#!/usr/bin/env python3
"""Multi-LoRA through the real binary (docs/lora.md): the tiny Llama of the engine's goldens served with
`--enable-lora --lora-modules` and VLLM_ALLOW_RUNTIME_LORA_UPDATING=1, driven by the official `openai` client.
An adapter's greedy tokens equal PEFT's (Tests/VLLMModelsTests/Goldens/lora/golden.json, recovered from the
completion's logprob tokens through the tokenizer's vocabulary); /v1/models lists the adapters; load / unload at
runtime; /metrics has vllm:lora_requests_info (parsed by prometheus_client); a bad --lora-modules stops start-up; an
adapter given by hub id is downloaded (scripts/mock_hub.py serving llama-b as test-org/llama-b-lora, as vLLM's
snapshot_download would fetch it).

    python3 scripts/live_lora_check.py --bin .build/debug/swift-vllm --port 18331
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

import openai
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mock_hub  # noqa: E402

GOLDENS = "Tests/VLLMModelsTests/Goldens"
# Any tokenizer of at least the tiny Llama's 96 ids: prompts go in as token ids, outputs are mapped back to ids.
TOKENIZER = f"{GOLDENS}/embeddings/tiny-bert-reranker"


def check(condition, what):
    if not condition:
        print(f"FAIL: {what}")
        sys.exit(1)
    print(f"ok: {what}")


def post(base, path, body):
    request = urllib.request.Request(base + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def serve(binary, port, extra, env=None):
    args = [binary, "serve", f"{GOLDENS}/llama", "--tokenizer", TOKENIZER, "--served-model-name", "tiny-llama",
            "--host", "127.0.0.1", "--port", str(port), "--device", "cpu", "--block-size", "4",
            "--disable-log-requests"] + extra
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, **(env or {})})


def wait_ready(base):
    for _ in range(150):
        try:
            urllib.request.urlopen(f"{base}/health")
            return
        except Exception:
            time.sleep(0.2)


def greedy(client, vocab, model, prompt):
    """The model's and the token ids of 16 greedy tokens (mapped back through the tokenizer's vocabulary)."""
    c = client.completions.create(model=model, prompt=prompt, max_tokens=16, temperature=0, logprobs=0,
                                  extra_body={"ignore_eos": True})
    return c.model, [vocab[t] for t in c.choices[0].logprobs.tokens]


def expected(golden, adapter, prompt_index):
    """PEFT's greedy tokens for the tiny Llama with `adapter` (None: the base model)."""
    return next(c["greedy_token_ids"] for c in golden["cases"]
                if c["model"] == "llama" and c["adapter"] == adapter and c["prompt_index"] == prompt_index)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--port", type=int, default=18331)
    args = parser.parse_args()
    base = f"http://127.0.0.1:{args.port}"
    golden = json.load(open(f"{GOLDENS}/lora/golden.json"))
    vocab = json.load(open(f"{TOKENIZER}/tokenizer.json"))["model"]["vocab"]

    server = serve(args.bin, args.port, ["--enable-lora", "--max-loras", "2",
                                         "--lora-modules", f"llama-a={GOLDENS}/lora/llama-a"],
                   env={"VLLM_ALLOW_RUNTIME_LORA_UPDATING": "1"})
    try:
        wait_ready(base)
        client = openai.OpenAI(base_url=f"{base}/v1", api_key="unused")
        cards = {m.id: m for m in client.models.list().data}
        check(list(cards) == ["tiny-llama", "llama-a"] and cards["llama-a"].parent == "tiny-llama"
              and cards["llama-a"].root == f"{GOLDENS}/lora/llama-a" and cards["llama-a"].max_model_len is None,
              "/v1/models lists the --lora-modules adapter after the base model")

        def run(model, prompt_index):
            return greedy(client, vocab, model, golden["prompts"][prompt_index])

        check(run("llama-a", 0) == ("llama-a", expected(golden, "llama-a", 0)), "llama-a's greedy tokens are PEFT's")
        check(run("tiny-llama", 0) == ("tiny-llama", expected(golden, None, 0)), "the base model's are the base model's")

        status, text = post(base, "/v1/load_lora_adapter", {"lora_name": "llama-b", "lora_path": f"{GOLDENS}/lora/llama-b"})
        check(status == 200 and text == "Success: LoRA adapter 'llama-b' added successfully.", "runtime load: 200")
        check(run("llama-b", 2) == ("llama-b", expected(golden, "llama-b", 2)), "a runtime-loaded adapter's tokens are PEFT's")
        status, text = post(base, "/v1/load_lora_adapter", {"lora_name": "x", "lora_path": "/nonexistent/adapter"})
        check(status == 404 and json.loads(text)["error"]["message"]
              == "Loading lora x failed: No adapter found for /nonexistent/adapter", "a folder without an adapter: 404")
        status, text = post(base, "/v1/unload_lora_adapter", {"lora_name": "llama-b"})
        check(status == 200 and text == "Success: LoRA adapter 'llama-b' removed successfully.", "runtime unload: 200")
        try:
            run("llama-b", 2)
            check(False, "an unloaded adapter is refused")
        except openai.NotFoundError as e:
            check("The model `llama-b` does not exist." in str(e), "an unloaded adapter is vLLM's 404")

        page = urllib.request.urlopen(f"{base}/metrics").read().decode()
        samples = [s for f in text_string_to_metric_families(page) if f.name == "vllm:lora_requests_info" for s in f.samples]
        check(samples and all(s.labels["max_lora"] == "2" and s.labels["waiting_lora_adapters"] == s.labels["running_lora_adapters"]
                              for s in samples)
              and {"llama-a", "llama-b", ""} <= {s.labels["running_lora_adapters"] for s in samples},
              "vllm:lora_requests_info: a label set per set of adapters in flight")
    finally:
        server.terminate()
        server.wait(timeout=30)

    hub_port = args.port + 1
    hub = mock_hub.serve(f"{GOLDENS}/lora/llama-b", "test-org/llama-b-lora", hub_port)
    threading.Thread(target=hub.serve_forever, daemon=True).start()
    server = serve(args.bin, args.port, ["--enable-lora", "--lora-modules", "hub=test-org/llama-b-lora"],
                   env={"HF_ENDPOINT": f"http://127.0.0.1:{hub_port}", "HF_HOME": tempfile.mkdtemp()})
    try:
        wait_ready(base)
        client = openai.OpenAI(base_url=f"{base}/v1", api_key="unused")
        cards = {m.id: m for m in client.models.list().data}
        check("hub" in cards and cards["hub"].root == "test-org/llama-b-lora", "an adapter by hub id is listed by its id")
        check(greedy(client, vocab, "hub", golden["prompts"][2]) == ("hub", expected(golden, "llama-b", 2)),
              "an adapter downloaded by hub id gives PEFT's tokens")
    finally:
        server.terminate()
        server.wait(timeout=30)
        hub.shutdown()

    bad = serve(args.bin, args.port, ["--enable-lora", "--lora-modules", "x=/nonexistent/adapter"])
    out, _ = bad.communicate(timeout=120)
    check(bad.returncode != 0 and "Loading lora x failed: No adapter found for /nonexistent/adapter" in out,
          "an adapter --lora-modules cannot load stops start-up, saying why")
    print("live LoRA check passed")


if __name__ == "__main__":
    main()
