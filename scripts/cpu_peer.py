#!/usr/bin/env python3
"""The CPU peer for docs/benchmarks.md: HF transformers generate() on this machine's CPU, on the same
workloads as `swift-vllm bench` (random prompt ids, greedy, EOS ignored, exact lengths).

usage: python3 scripts/cpu_peer.py (--model DIR | --config DIR) latency|throughput \
           [--input-len N] [--output-len N] [--num-prompts N] [--threads N]
--config builds random f32 weights of that config.json (as `--load-format dummy`).
Prints one JSON line, with the same field names as `swift-vllm bench`."""
import argparse, json, time
import torch
from transformers import AutoConfig, AutoModelForCausalLM

p = argparse.ArgumentParser()
p.add_argument("workload", choices=["latency", "throughput"])
p.add_argument("--model"); p.add_argument("--config")
p.add_argument("--input-len", type=int, default=64); p.add_argument("--output-len", type=int, default=32)
p.add_argument("--num-prompts", type=int, default=8); p.add_argument("--threads", type=int, default=2)
a = p.parse_args()
torch.set_num_threads(a.threads)
if a.model:
    model = AutoModelForCausalLM.from_pretrained(a.model, dtype=torch.float32)
else:
    model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(a.config), dtype=torch.float32)
model.eval()
vocab = model.config.vocab_size
g = torch.Generator().manual_seed(0)

def run(batch):
    ids = torch.randint(10, vocab, (batch, a.input_len), generator=g)
    start = time.perf_counter()
    with torch.no_grad():
        out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=a.output_len,
                             min_new_tokens=a.output_len, do_sample=False, eos_token_id=None, pad_token_id=0)
    return time.perf_counter() - start, out.shape[1] - a.input_len

if a.workload == "latency":
    run(1)  # warm-up
    with torch.no_grad():
        ids = torch.randint(10, vocab, (1, a.input_len), generator=g)
        t = time.perf_counter(); model(ids); ttft = time.perf_counter() - t
    total, n = run(1)
    print(json.dumps({"peer": f"transformers {__import__('transformers').__version__} cpu", "workload": "latency",
                      "input_len": a.input_len, "output_len": a.output_len, "ttft_ms": ttft * 1000,
                      "tpot_ms": (total - ttft) / max(n - 1, 1) * 1000}))
else:
    total, n = run(a.num_prompts)
    print(json.dumps({"peer": f"transformers {__import__('transformers').__version__} cpu", "workload": "throughput",
                      "num_prompts": a.num_prompts, "input_len": a.input_len, "output_len": a.output_len,
                      "elapsed_s": total, "output_tokens_per_s": a.num_prompts * n / total,
                      "requests_per_s": a.num_prompts / total}))
