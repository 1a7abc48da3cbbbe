#!/usr/bin/env python3
"""Which `bench serve` client reads TTFT nearer the truth? Both clients — vLLM 0.26.0's own (its `benchmark()` and
request functions, loaded from its sources as scripts/make_bench_goldens.py loads them) and `swift-vllm bench serve` —
load one mock completions server in its own process whose first token leaves a fixed delay after a request arrives;
the server records, per request, when it arrived and when its first token was written. The server's own median
first-token time is the reference both clients' median TTFT is compared with.

  python3 scripts/client_clock_check.py --vllm-site DIR --bin .build/release/swift-vllm --tokenizer ../shared/tokenizers/gpt2
"""
import argparse
import asyncio
import dataclasses
import json
import multiprocessing
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def run_server(port, first_delay, gap, stats_path):
    from aiohttp import web
    records = {}

    async def completions(request):
        arrived = time.perf_counter()
        body = await request.json()
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await asyncio.sleep(first_delay)
        tokens = body.get("max_tokens", 16)
        for i in range(tokens):
            if i:
                await asyncio.sleep(gap)
            await response.write(f'data: {{"choices": [{{"index": 0, "text": "t{i} "}}]}}\n\n'.encode())
            if i == 0:
                records[request.headers.get("x-request-id", str(len(records)))] = time.perf_counter() - arrived
        usage = {"prompt_tokens": 10, "completion_tokens": tokens, "total_tokens": 10 + tokens}
        await response.write(f'data: {{"choices": [], "usage": {json.dumps(usage)}}}\n\ndata: [DONE]\n\n'.encode())
        return response

    async def stats(request):
        values = list(records.values())
        records.clear()
        return web.json_response(values)

    app = web.Application()
    app.router.add_post("/v1/completions", completions)
    app.router.add_get("/stats", stats)
    web.run_app(app, host="127.0.0.1", port=port, print=None)


def server_stats(port):
    import urllib.request
    return json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/stats"))


def vllm_client(site, port, count, rate, tokens):
    from make_bench_goldens import load_vllm
    serve, _, _ = load_vllm(Path(site))

    @dataclasses.dataclass
    class Sample:
        prompt: str
        prompt_len: int
        expected_output_len: int
        request_id: str
        multi_modal_data: object = None
        request_overrides: object = None
        chat_messages: object = None

    requests = [Sample("hello world " * 20, 40, tokens, f"v-{i}") for i in range(count)]
    serve.np.random.seed(0)
    result = asyncio.run(serve.benchmark(
        task_type=serve.TaskType.GENERATION, endpoint_type="openai", api_url=f"http://127.0.0.1:{port}/v1/completions",
        base_url=f"http://127.0.0.1:{port}", model_id="mock", model_name="mock", tokenizer=object(), input_requests=requests,
        logprobs=None, request_rate=rate, burstiness=1.0, disable_tqdm=True, num_warmups=0, profile=False,
        selected_percentile_metrics=["ttft", "tpot", "itl"], selected_percentiles=[99.0], ignore_eos=True,
        goodput_config_dict={}, max_concurrency=None, lora_modules=None, extra_headers=None, extra_body=None))
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--vllm-site", required=True)
    parser.add_argument("--bin", required=True)
    parser.add_argument("--tokenizer", required=True)
    parser.add_argument("--port", type=int, default=18620)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--first-delay", type=float, default=0.030)
    parser.add_argument("--gap", type=float, default=0.005)
    args = parser.parse_args()
    server = multiprocessing.Process(target=run_server, args=(args.port, args.first_delay, args.gap, None), daemon=True)
    server.start()
    time.sleep(1.5)
    out = Path(tempfile.mkdtemp())
    try:
        for rate in [10.0, 40.0, float("inf")]:
            for client in ["vllm", "swift", "vllm", "swift"]:
                if client == "vllm":
                    result = vllm_client(args.vllm_site, args.port, args.count, rate, args.tokens)
                    median_ttft = result["median_ttft_ms"]
                else:
                    subprocess.run([args.bin, "bench", "serve", "--base-url", f"http://127.0.0.1:{args.port}", "--model", "mock",
                                    "--tokenizer", args.tokenizer, "--num-prompts", str(args.count), "--random-input-len", "40",
                                    "--random-output-len", str(args.tokens), "--request-rate", str(rate), "--disable-tqdm",
                                    "--save-result", "--result-dir", str(out), "--result-filename", "s.json"],
                                   check=True, capture_output=True)
                    median_ttft = json.load(open(out / "s.json"))["median_ttft_ms"]
                truth = statistics.median(server_stats(args.port)) * 1000
                print(f"rate {rate:>5}: {client:>5} client median TTFT {median_ttft:8.2f} ms; the server's own first-token "
                      f"median {truth:8.2f} ms; client − server {median_ttft - truth:+.2f} ms", flush=True)
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
