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
p.add_argument("workload", choices=["latency", "throughput", "w3"])
p.add_argument("--model"); p.add_argument("--config")
p.add_argument("--input-len", type=int, default=64); p.add_argument("--output-len", type=int, default=32)
p.add_argument("--num-prompts", type=int, default=8); p.add_argument("--threads", type=int, default=2)
p.add_argument("--lengths-file"); p.add_argument("--length-scale", type=float, default=1.0)
p.add_argument("--batch", type=int, default=16, help="w3: requests per generate() call, in arrival order")
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

if a.workload == "w3":
    # As hf_peer.py's W3: no continuous batching, so requests go in arrival order in batches, left-padded,
    # each batch generating to its longest output; only the requested tokens count.
    reqs = json.load(open(a.lengths_file))["requests"][: a.num_prompts]
    lengths = [(max(1, int(r["input_len"] * a.length_scale)), max(1, int(r["output_len"] * a.length_scale))) for r in reqs]
    start = time.perf_counter()
    for i in range(0, len(lengths), a.batch):
        chunk = lengths[i:i + a.batch]
        longest_in = max(l for l, _ in chunk); longest_out = max(o for _, o in chunk)
        ids = torch.zeros((len(chunk), longest_in), dtype=torch.long); mask = torch.zeros_like(ids)
        for row, (l, _) in enumerate(chunk):
            ids[row, longest_in - l:] = torch.randint(10, vocab, (l,), generator=g); mask[row, longest_in - l:] = 1
        with torch.no_grad():
            model.generate(ids, attention_mask=mask, max_new_tokens=longest_out, min_new_tokens=longest_out,
                           do_sample=False, eos_token_id=None, pad_token_id=0)
    total = time.perf_counter() - start
    generated = sum(o for _, o in lengths)
    print(json.dumps({"peer": f"transformers {__import__('transformers').__version__} cpu", "workload": "throughput-w3",
                      "num_prompts": len(lengths), "batch": a.batch, "elapsed_s": total,
                      "output_tokens_per_s": generated / total, "requests_per_s": len(lengths) / total}))
elif a.workload == "latency":
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
