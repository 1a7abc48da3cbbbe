#!/usr/bin/env python3
"""Goldens for VLLMBench (Tests/VLLMBenchTests/Goldens), from code nobody on this team wrote:

- metrics.json: vLLM 0.26.0's own `calculate_metrics` (vllm/benchmarks/serve.py) on synthetic request outcomes —
  counts, throughputs, goodput, numpy's mean / median / std / percentiles, the peak buckets.
- sse.json: vLLM 0.26.0's `StreamedResponseHandler` (vllm/benchmarks/lib/endpoint_request_func.py) on streams cut
  into network chunks at many places (inside JSON, inside multi-byte characters, between messages).
- fit.json: vLLM 0.26.0's `gen_prompt_decode_to_target_len` with transformers' tokenizers (gpt2, qwen2.5 from
  ../shared/tokenizers) on random-dataset token windows — the cases that converge without drawing random pad ids.
- sharegpt.json (+ sharegpt_sample.json, its input): which conversations vLLM's ShareGPT rules keep (its
  `is_valid_sequence`), with prompt and answer token counts from transformers' gpt2 tokenizer, file order.
- quality.json: accuracy and mean cosine computed by numpy from fixed embedding vectors of answers and references.

vLLM's files are loaded straight from its wheel's sources with the rest of vLLM stubbed out (no torch needed):
  python3 -m pip install aiohttp tqdm regex numpy transformers
  python3 scripts/make_bench_goldens.py --vllm-site DIR   # DIR holds vllm/ (the peer's site-packages)
"""
import argparse
import ast
import importlib.util
import json
import random
import sys
import types
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests/VLLMBenchTests/Goldens"
SHARED = ROOT.parent / "shared"


def vllm_functions(path: Path, names, namespace):
    """Top-level functions of a vLLM source file, compiled on their own (decorators dropped) into `namespace`, without
    importing the module (whose imports need torch, PIL, numba, …)."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.FunctionDef) and node.name in names:
            node.decorator_list = []
            exec(compile(ast.Module(body=[node], type_ignores=[]), path.name, "exec"), namespace)
    return namespace


def load_vllm(site: Path):
    """vllm.benchmarks.serve and lib.endpoint_request_func, their vLLM-internal imports stubbed."""
    def stub(name, **attrs):
        module = types.ModuleType(name)
        module.__dict__.update(attrs)
        module.__path__ = []
        sys.modules[name] = module
        return module

    for name in ["vllm", "vllm.benchmarks", "vllm.benchmarks.lib", "vllm.tokenizers", "vllm.utils"]:
        stub(name)
    stub("vllm.logger", init_logger=lambda name: __import__("logging").getLogger(name))
    stub("vllm.benchmarks.datasets", SampleRequest=object, add_dataset_parser=None, get_samples=None)
    stub("vllm.tokenizers", TokenizerLike=object, get_tokenizer=None)
    stub("vllm.utils.argparse_utils", FlexibleArgumentParser=object)
    stub("vllm.utils.gc_utils", freeze_gc_heap=lambda: None)
    stub("vllm.utils.network_utils", join_host_port=None)
    stub("vllm.benchmarks.lib.utils", convert_to_pytorch_benchmark_format=None, write_to_json=None)

    def load(name, path):
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module

    bench = site / "vllm/benchmarks"
    endpoint = load("vllm.benchmarks.lib.endpoint_request_func", bench / "lib/endpoint_request_func.py")
    load("vllm.benchmarks.lib.ready_checker", bench / "lib/ready_checker.py")
    serve = load("vllm.benchmarks.serve", bench / "serve.py")
    # Two functions of datasets.py, taken from its source (the module itself imports PIL, pandas, …).
    namespace = vllm_functions(bench / "datasets/datasets.py", {"is_valid_sequence", "gen_prompt_decode_to_target_len"},
                               {"np": np, "TokenizerLike": object})
    return serve, endpoint, namespace


def outcome_json(o):
    return {"success": o.success, "latency": o.latency, "output_tokens": o.output_tokens, "ttft": o.ttft, "itl": o.itl,
            "prompt_len": o.prompt_len, "start_time": o.start_time, "generated_text": o.generated_text, "error": o.error}


def metrics_goldens(serve, endpoint):
    rng = np.random.default_rng(7)
    cases = []
    for case_index, (n, failures, goodput, percentiles) in enumerate([
        (1, 0, {}, [99.0]),
        (7, 1, {"ttft": 400.0}, [25.0, 50.0, 99.0]),
        (40, 5, {"ttft": 300.0, "tpot": 25.0}, [50.0, 90.0, 99.0, 99.9]),
        (120, 0, {"e2el": 2500.0, "tpot": 30.0}, [1.0, 99.0]),
        (3, 3, {}, [99.0]),  # every request failed
    ]):
        outputs = []
        for i in range(n):
            o = endpoint.RequestFuncOutput()
            o.prompt_len = int(rng.integers(1, 600))
            o.start_time = 1000.0 + float(rng.uniform(0, 4))
            if i < failures:
                o.success = False
                o.error = f"HTTP 500 Internal Server Error: case {case_index} request {i}"
            else:
                o.success = True
                tokens = int(rng.integers(1, 60))
                o.output_tokens = tokens if i % 9 != 4 else 0  # a few without usage: counted as 1 (no tokenizer)
                o.ttft = float(rng.uniform(0.01, 0.8))
                o.itl = [float(x) for x in rng.exponential(0.02, size=tokens - 1)]
                o.latency = o.ttft + sum(o.itl)
                o.generated_text = "x" * tokens
            outputs.append(o)
        duration = max([o.start_time + o.latency for o in outputs]) - 1000.0 + 0.05
        metrics, lens = serve.calculate_metrics(
            input_requests=[], outputs=outputs, dur_s=duration, tokenizer=None, selected_percentiles=percentiles,
            goodput_config_dict=goodput)
        expected = {k: v for k, v in metrics.__dict__.items() if not k.startswith("percentiles_")}
        for name in ["ttft", "tpot", "itl", "e2el"]:
            expected[f"percentiles_{name}_ms"] = [[p, v] for p, v in getattr(metrics, f"percentiles_{name}_ms")]
        expected["output_lens"] = lens
        cases.append({"outcomes": [outcome_json(o) for o in outputs], "duration": duration, "goodput": goodput,
                      "percentiles": percentiles, "expected": json.loads(json.dumps(expected, default=float))})
    return {"source": "vllm 0.26.0 vllm/benchmarks/serve.py calculate_metrics", "cases": cases}


def sse_goldens(endpoint):
    events = [
        {"id": "cmpl-1", "choices": [{"index": 0, "text": " Once upon"}]},
        {"id": "cmpl-1", "choices": [{"index": 0, "text": " a tíme, ünïcode ✓ 🙂"}]},
        {"id": "cmpl-1", "choices": [{"index": 0, "text": "\n\nnew paragraph {\"json\": [1, 2]}"}]},
        {"id": "cmpl-1", "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}},
    ]
    stream = "".join("data: " + json.dumps(e, ensure_ascii=False) + "\n\n" for e in events) + "data: [DONE]\n\n"
    stream = (": ping\n\n" + stream).encode()
    rng = random.Random(3)
    cases = []
    cuts_list = [[], [len(stream) // 2], list(range(1, len(stream), 7)), list(range(1, len(stream), 1))]
    for _ in range(12):
        cuts_list.append(sorted(rng.sample(range(1, len(stream)), rng.randint(1, 20))))
    # A cut inside each multi-byte character.
    cuts_list.append([i + 1 for i, b in enumerate(stream) if b >= 0xC0])
    for cuts in cuts_list:
        bounds = [0] + cuts + [len(stream)]
        chunks = [stream[a:b] for a, b in zip(bounds, bounds[1:]) if b > a]
        handler = endpoint.StreamedResponseHandler()
        messages = []
        for chunk in chunks:
            messages.append(handler.add_chunk(chunk))
        cases.append({"chunks": [list(c) for c in chunks], "messages_after_each_chunk": messages})
    return {"source": "vllm 0.26.0 vllm/benchmarks/lib/endpoint_request_func.py StreamedResponseHandler", "cases": cases}


class NoRandom:
    def integers(self, *args, **kwargs):
        raise LookupError("padding drawn")


def fit_goldens(namespace):
    from transformers import AutoTokenizer
    fit = namespace["gen_prompt_decode_to_target_len"]
    cases = []
    for name in ["gpt2", "qwen2.5"]:
        tokenizer = AutoTokenizer.from_pretrained(str(SHARED / "tokenizers" / name))
        allowed = sorted(set(range(tokenizer.vocab_size)) - set(tokenizer.all_special_ids))
        rng = random.Random(11)
        kept = 0
        while kept < 12:
            length = rng.choice([1, 5, 16, 64, 200])
            offset = rng.randrange(len(allowed))
            ids = [allowed[(offset + k) % len(allowed)] for k in range(length)]
            try:
                prompt, adjusted, mismatch = fit(tokenizer, list(ids), length, add_special_tokens=False, rng=NoRandom())
            except LookupError:
                continue
            cases.append({"tokenizer": name, "ids": ids, "target": length, "prompt": prompt, "adjusted": adjusted,
                          "mismatch": mismatch})
            kept += 1
    return {"source": "vllm 0.26.0 datasets.py gen_prompt_decode_to_target_len, transformers "
            + __import__("transformers").__version__, "cases": cases}


def sharegpt_goldens(namespace):
    from transformers import AutoTokenizer
    valid = namespace["is_valid_sequence"]
    tokenizer = AutoTokenizer.from_pretrained(str(SHARED / "tokenizers/gpt2"))
    rng = random.Random(5)
    words = "the cat sat on a mat while it was raining and then the dog came home to eat dinner with friends".split()
    entries = []
    for i in range(30):
        def text(n):
            return " ".join(rng.choice(words) for _ in range(n))
        turns = rng.choice([0, 1, 2, 2, 2, 3])
        lengths = [rng.choice([1, 2, 3, 10, 40, 300, 900, 1500]) for _ in range(turns)]
        conversations = [{"from": "human" if t % 2 == 0 else "gpt", "value": text(n)} for t, n in enumerate(lengths)]
        entry = {"id": f"e{i}", "conversations": conversations}
        if i == 3:
            entry = {"id": "no-conversations"}
        entries.append(entry)
    expected = {}
    for output_len in [None, 64]:
        kept = []
        for entry in entries:
            if "conversations" not in entry or len(entry["conversations"]) < 2:
                continue
            prompt, completion = entry["conversations"][0]["value"], entry["conversations"][1]["value"]
            prompt_len = len(tokenizer(prompt).input_ids)
            new_output_len = len(tokenizer(completion).input_ids) if output_len is None else output_len
            if not valid(prompt_len, new_output_len, skip_min_output_len_check=output_len is not None):
                continue
            kept.append({"prompt": prompt, "prompt_len": prompt_len, "output_len": new_output_len})
        expected["none" if output_len is None else str(output_len)] = kept
    (OUT / "sharegpt_sample.json").write_text(json.dumps(entries, indent=1) + "\n")
    return {"source": "vllm 0.26.0 datasets.py ShareGPTDataset rules (is_valid_sequence), transformers gpt2 tokenizer",
            "input": "sharegpt_sample.json", "expected": expected}


def quality_goldens():
    rng = np.random.default_rng(21)
    lines = []
    dims = 24
    for i in range(25):
        reference = f"reference answer number {i}"
        answer = f"model answer number {i}"
        ref_vec = rng.normal(size=dims)
        # Answers from near copies of the reference (pass) to unrelated vectors (fail), around the 0.85 threshold.
        noise = [0.05, 0.3, 0.5, 0.6, 0.7, 1.0, 3.0][i % 7]
        ans_vec = ref_vec + noise * rng.normal(size=dims)
        lines.append({"messages": [{"role": "user", "content": f"question {i}"}], "reference": reference, "answer": answer,
                      "reference_embedding": ref_vec.tolist(), "answer_embedding": ans_vec.tolist()})
    a = np.array([l["answer_embedding"] for l in lines])
    b = np.array([l["reference_embedding"] for l in lines])
    cosines = (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    threshold = 0.85
    return {"source": "numpy " + np.__version__, "threshold": threshold, "lines": lines,
            "expected": {"cosines": cosines.tolist(), "accuracy": float(np.mean(cosines >= threshold)),
                         "mean_cosine": float(np.mean(cosines))}}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--vllm-site", type=Path, required=True, help="folder holding vllm/ (vLLM 0.26.0's sources)")
    args = parser.parse_args()
    serve, endpoint, namespace = load_vllm(args.vllm_site)
    OUT.mkdir(parents=True, exist_ok=True)
    goldens = {
        "metrics.json": metrics_goldens(serve, endpoint),
        "sse.json": sse_goldens(endpoint),
        "fit.json": fit_goldens(namespace),
        "sharegpt.json": sharegpt_goldens(namespace),
        "quality.json": quality_goldens(),
    }
    for name, value in goldens.items():
        (OUT / name).write_text(json.dumps(value, indent=1, ensure_ascii=False) + "\n")
        print("wrote", OUT / name)


if __name__ == "__main__":
    main()
