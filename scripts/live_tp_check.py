"""Live check of `swift-vllm serve -tp N` (or `-pp N`) through the official openai client: a parallel server's greedy
completions (whole, streamed, and a batch of concurrent ones) equal the text one rank generates
(`swift-vllm generate`, itself checked against transformers by the Swift tests)."""
import argparse
import concurrent.futures
import json

import openai

parser = argparse.ArgumentParser()
parser.add_argument("--base-url", required=True)
parser.add_argument("--model", required=True)
parser.add_argument("--prompt", required=True)
parser.add_argument("--max-tokens", type=int, required=True)
parser.add_argument("--expected-json", required=True, help="`swift-vllm generate --json` of the same request, one rank")
args = parser.parse_args()
with open(args.expected_json) as f:
    args.expected = json.load(f)["outputs"][0]["text"]

client = openai.OpenAI(base_url=args.base_url + "/v1", api_key="unused")
request = dict(model=args.model, prompt=args.prompt, max_tokens=args.max_tokens, temperature=0,
               extra_body={"ignore_eos": True})

whole = client.completions.create(**request)
assert whole.choices[0].text == args.expected, f"whole: {whole.choices[0].text!r} != {args.expected!r}"
assert whole.usage.completion_tokens == args.max_tokens, whole.usage

streamed = "".join(chunk.choices[0].text for chunk in client.completions.create(**request, stream=True) if chunk.choices)
assert streamed == args.expected, f"streamed: {streamed!r} != {args.expected!r}"

with concurrent.futures.ThreadPoolExecutor(16) as pool:
    texts = list(pool.map(lambda _: client.completions.create(**request).choices[0].text, range(32)))
assert all(text == args.expected for text in texts), [t for t in texts if t != args.expected][:2]
print(f"ok: parallel server: whole, streamed and 32 concurrent greedy completions equal one rank's ({args.max_tokens} tokens)")
