#!/usr/bin/env python3
"""vLLM 0.26.0 beside `swift-vllm bench latency --self-repeating-prompt` (speculative decoding, issue #11): W1 (one
request, greedy, EOS ignored) on the same prompt token ids, without speculation and with the same n-gram
`--speculative-config`, measured as ../shared/bench/vllm_peer.py measures W1 (TTFT from a 1-token run, TPOT from a
full run); acceptance from vLLM's own spec-decode counters (`LLM.get_metrics()`).

usage: python3 vllm_spec_peer.py MODEL_DIR PROMPT_IDS.json --output-len 128 --k 4 [--min 2 --max 4] [--plain]
"""
import argparse
import json
import time


def emit(**kw):
    print(json.dumps(kw), flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("prompt_ids")
    p.add_argument("--output-len", type=int, default=128)
    p.add_argument("--k", type=int, default=4)
    p.add_argument("--min", type=int, default=2)
    p.add_argument("--max", type=int, default=4)
    p.add_argument("--plain", action="store_true", help="no speculative decoding")
    a = p.parse_args()
    from vllm import LLM, SamplingParams
    from vllm.inputs import TokensPrompt
    spec = None if a.plain else {"method": "ngram", "num_speculative_tokens": a.k, "prompt_lookup_min": a.min,
                                 "prompt_lookup_max": a.max}
    t = time.perf_counter()
    llm = LLM(model=a.model, load_format="dummy", dtype="bfloat16", skip_tokenizer_init=True, max_model_len=4096, seed=0,
              speculative_config=spec, disable_log_stats=False)
    emit(what="startup", engine="vllm", speculative_config=spec, seconds=round(time.perf_counter() - t, 1))
    ids = json.load(open(a.prompt_ids))
    prompt = TokensPrompt(prompt_token_ids=ids)

    def sp(n):
        return SamplingParams(max_tokens=n, min_tokens=n, ignore_eos=True, temperature=0.0, detokenize=False)

    def run(n):
        t = time.perf_counter()
        outs = llm.generate([prompt], sp(n), use_tqdm=False)
        return outs, time.perf_counter() - t

    def counters():
        totals = {}
        try:
            for metric in llm.get_metrics():
                if metric.name.startswith("vllm:spec_decode") and hasattr(metric, "value"):
                    totals[metric.name] = totals.get(metric.name, 0) + metric.value
        except Exception as error:  # older readers
            totals["error"] = str(error)
        return totals

    run(8)
    _, ttft = run(1)
    before = counters()
    outs, e2e = run(a.output_len)
    after = counters()
    assert len(outs[0].outputs[0].token_ids) == a.output_len
    fields = {k: after[k] - before.get(k, 0) for k in after if k != "error"}
    drafts = fields.get("vllm:spec_decode_num_drafts", 0)
    drafted = fields.get("vllm:spec_decode_num_draft_tokens", 0)
    accepted = fields.get("vllm:spec_decode_num_accepted_tokens", 0)
    emit(what="W1-spec", engine="vllm", speculative_config=spec, input_len=len(ids), output_len=a.output_len,
         ttft_ms=round(ttft * 1e3, 2), tpot_ms=round((e2e - ttft) / (a.output_len - 1) * 1e3, 3),
         spec_decode_num_drafts=drafts, spec_decode_acceptance_rate=(100 * accepted / drafted) if drafted else None,
         spec_decode_acceptance_length=(1 + accepted / drafts) if drafts else None,
         ms_per_verify_step=round((e2e - ttft) / drafts * 1e3, 3) if drafts else None)


if __name__ == "__main__":
    main()
