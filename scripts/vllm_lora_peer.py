#!/usr/bin/env python3
"""vLLM 0.26.0 on W2 (256 prompts × 512 random token ids → 128 tokens, ignore_eos, greedy) with multi-LoRA: the
same adapters swift-vllm's `bench throughput --lora-adapters` reads (scripts/make_lora_bench_adapters.py), request i
running adapter i % count; and, with --base, W2 without adapters on the same engine. As ../shared/bench/vllm_peer.py
(dummy weights, bf16, max_model_len 4096), plus --enable-lora --max-loras COUNT --max-lora-rank RANK.
usage: python3 vllm_lora_peer.py MODEL_DIR ADAPTERS_DIR [--count 8] [--rank 16] [--base]
"""
import argparse, json, os, random, time


def emit(**kw): print(json.dumps(kw), flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model"); p.add_argument("adapters")
    p.add_argument("--count", type=int, default=8); p.add_argument("--rank", type=int, default=16)
    p.add_argument("--base", action="store_true"); p.add_argument("--max-model-len", type=int, default=4096)
    a = p.parse_args()
    from vllm import LLM, SamplingParams
    from vllm.inputs import TokensPrompt
    from vllm.lora.request import LoRARequest
    t = time.perf_counter()
    llm = LLM(model=a.model, load_format="dummy", dtype="bfloat16", skip_tokenizer_init=True, max_model_len=a.max_model_len,
              seed=0, enable_lora=True, max_loras=a.count, max_lora_rank=a.rank)
    emit(what="startup", engine="vllm", seconds=round(time.perf_counter() - t, 1))
    vocab = json.load(open(os.path.join(a.model, "config.json")))["vocab_size"]
    rng = random.Random(0)
    prompts = [TokensPrompt(prompt_token_ids=[rng.randint(100, vocab - 100) for _ in range(512)]) for _ in range(256)]
    params = SamplingParams(max_tokens=128, min_tokens=128, ignore_eos=True, temperature=0.0, detokenize=False)
    loras = [LoRARequest(f"lora{i}", i + 1, os.path.join(os.path.abspath(a.adapters), f"lora{i}")) for i in range(a.count)]
    llm.generate(prompts[:8], params, lora_request=[loras[i % a.count] for i in range(8)], use_tqdm=False)  # adapters read, warm
    runs = ([("W2", None)] if a.base else []) + [(f"W2-lora{a.count}", [loras[i % a.count] for i in range(len(prompts))])]
    for what, requests in runs:
        t = time.perf_counter()
        outs = llm.generate(prompts, params, lora_request=requests, use_tqdm=False)
        dt = time.perf_counter() - t
        assert all(len(o.outputs[0].token_ids) == 128 for o in outs)
        emit(what=what, engine="vllm", seconds=round(dt, 3), out_tok_s=round(256 * 128 / dt, 1), total_tok_s=round(256 * 640 / dt, 1))


if __name__ == "__main__":
    main()
