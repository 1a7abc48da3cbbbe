"""vLLM on the quantized (#20) and tensor-parallel (#15) workloads, measured on the GPU machine:
../shared/bench/vllm_peer.py's W1 and W2 (same prompts, same timing), and W3 given its lengths file, with
vLLM's --kv-cache-dtype and --tensor-parallel-size passed through. A config.json carrying a GPTQ quantization_config
makes vLLM's dummy loader build that format only for the layers its modules_in_block_to_quantize lists (with no
safetensors files vLLM finds no quantized layer otherwise, and runs bf16): benchmarks/configs/*-gptq-int4 list them.
`--quantization fp8` quantizes a float config's linears at load (vLLM's online FP8), which needs no files.
usage: python3 vllm_quant_peer.py MODEL_DIR [--kv-cache-dtype fp8] [--quantization fp8] [--tensor-parallel-size 2]
       [--w3 w3_lengths.json]"""
import argparse, json, random, time, os


def emit(**kw): print(json.dumps(kw), flush=True)


def main():
    p = argparse.ArgumentParser(); p.add_argument("model"); p.add_argument("--kv-cache-dtype", default="auto")
    p.add_argument("--max-model-len", type=int, default=4096); p.add_argument("--tensor-parallel-size", type=int, default=1)
    p.add_argument("--quantization"); p.add_argument("--w3"); a = p.parse_args()
    from vllm import LLM, SamplingParams
    from vllm.inputs import TokensPrompt
    t = time.perf_counter()
    llm = LLM(model=a.model, load_format="dummy", dtype="bfloat16", skip_tokenizer_init=True,
              max_model_len=a.max_model_len, seed=0, kv_cache_dtype=a.kv_cache_dtype,
              tensor_parallel_size=a.tensor_parallel_size, quantization=a.quantization)
    emit(what="startup", engine="vllm", model=a.model, kv_cache_dtype=a.kv_cache_dtype, quantization=a.quantization,
         tensor_parallel_size=a.tensor_parallel_size,
         seconds=round(time.perf_counter() - t, 1))
    vocab = json.load(open(os.path.join(a.model, "config.json")))["vocab_size"]
    rng = random.Random(0)
    def prompt(n): return TokensPrompt(prompt_token_ids=[rng.randint(100, vocab - 100) for _ in range(n)])
    def sp(n): return SamplingParams(max_tokens=n, min_tokens=n, ignore_eos=True, temperature=0.0, detokenize=False)
    def run(prompts, params):
        t = time.perf_counter(); outs = llm.generate(prompts, params, use_tqdm=False); return outs, time.perf_counter() - t
    run([prompt(64)], sp(8)); x = prompt(512)
    _, ttft = run([x], sp(1)); outs, e2e = run([x], sp(128))
    emit(what="W1", engine="vllm", ttft_ms=round(ttft * 1e3, 2), tpot_ms=round((e2e - ttft) / 127 * 1e3, 3))
    ps = [prompt(512) for _ in range(256)]; outs, dt = run(ps, sp(128))
    assert all(len(o.outputs[0].token_ids) == 128 for o in outs)
    emit(what="W2", engine="vllm", seconds=round(dt, 3), out_tok_s=round(256 * 128 / dt, 1))
    if a.w3:
        reqs = json.load(open(a.w3))["requests"]
        ps = [prompt(r["input_len"]) for r in reqs]; params = [sp(r["output_len"]) for r in reqs]
        outs, dt = run(ps, params)
        assert all(len(o.outputs[0].token_ids) == r["output_len"] for o, r in zip(outs, reqs))
        emit(what="W3", engine="vllm", requests=len(reqs), seconds=round(dt, 3), req_s=round(len(reqs) / dt, 3))


if __name__ == "__main__":
    main()
