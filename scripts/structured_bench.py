"""Structured outputs under load, over HTTP, against any OpenAI-compatible server (this one or vLLM):
N concurrent completions, all free text or all constrained by one JSON Schema (`structured_outputs.json`,
the field vLLM 0.26 takes), and the output token throughput of each. Needs the `openai` package.

  python3 scripts/structured_bench.py --base-url http://127.0.0.1:8000 --model M --mode free
  python3 scripts/structured_bench.py --base-url http://127.0.0.1:8000 --model M --mode structured \
      --schema benchmarks/schemas/poem.json
"""
import argparse, asyncio, json, time
import openai


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--mode", choices=["free", "structured"], required=True)
    parser.add_argument("--schema", default="benchmarks/schemas/poem.json")
    parser.add_argument("--num-requests", type=int, default=100)
    parser.add_argument("--max-tokens", type=int, default=128)
    args = parser.parse_args()
    schema = json.load(open(args.schema))
    client = openai.AsyncOpenAI(base_url=f"{args.base_url}/v1", api_key="EMPTY", max_retries=0, timeout=900)
    extra = {"structured_outputs": {"json": schema}} if args.mode == "structured" else {"ignore_eos": True}

    async def one(i):
        prompt = f"Poem {i}. Write a poem about the sea, as a JSON object with a title and the content. " * 4
        r = await client.completions.create(model=args.model, prompt=prompt, max_tokens=args.max_tokens,
                                            temperature=0, extra_body=extra)
        return r.usage.completion_tokens, r.choices[0].finish_reason, r.choices[0].text

    await one(0)  # warm-up (a schema's first compile counts in the first request only)
    start = time.time()
    results = await asyncio.gather(*(one(i) for i in range(args.num_requests)))
    seconds = time.time() - start
    tokens = sum(r[0] for r in results)
    reasons = {}
    for _, reason, _ in results:
        reasons[reason] = reasons.get(reason, 0) + 1
    starts_json = sum(1 for r in results if r[2].lstrip().startswith("{"))
    print(json.dumps({"mode": args.mode, "requests": args.num_requests, "output_tokens": tokens,
                      "elapsed_s": round(seconds, 3), "output_tokens_per_s": round(tokens / seconds, 1),
                      "finish_reasons": reasons, "outputs_starting_with_brace": starts_json,
                      "sample": results[0][2][:120]}))


asyncio.run(main())
