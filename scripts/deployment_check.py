"""The seeds' deployment over HTTP, with nothing but Python's standard library (for the GPU machine): a server
started as the deployment starts it (e.g. `serve MODEL -tp 2 --kv-cache-dtype fp8 --enable-auto-tool-choice
--tool-call-parser hermes`) gets what its clients send — `guided_json` on every chat request, and tool calls.

1. Throughput: N concurrent chat completions, free (ignore_eos) and then constrained by `--schema` sent as
   `guided_json` (the deployment's field; `--field structured_outputs` sends vLLM 0.26's), output tok/s of each.
   Every constrained answer that finishes with `stop` must parse as JSON with the schema's required keys as
   strings (the Poem schema's check; a cut answer is counted, not judged).
2. Tool calls: `tool_choice` "required" and a named function, whole and streamed: every call's arguments parse
   as a JSON object with the tool's required keys, the streamed deltas (accumulated as the OpenAI client does)
   give the whole answer's calls, and finish_reason is vLLM's ("tool_calls" for required, "stop" for named).
   "auto" through the server's tool-call parser must answer (200) whole and streamed.

  python3 scripts/deployment_check.py --base-url http://127.0.0.1:8000 --model M [--num-requests 100]

Prints one JSON line of figures and exits non-zero on any failed check.
"""
import argparse, concurrent.futures, json, sys, time, urllib.request

# Bounded arguments (enums, short strings), so that even a model of random weights closes its calls.
TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city.", "parameters": {
        "type": "object", "properties": {"city": {"type": "string", "enum": ["Paris", "Tokyo", "Lima"]},
                                         "unit": {"type": "string", "enum": ["c", "f"]}},
        "required": ["city", "unit"], "additionalProperties": False}}},
    {"type": "function", "function": {"name": "search", "description": "Search the web.", "parameters": {
        "type": "object", "properties": {"query": {"type": "string", "maxLength": 12},
                                         "top_k": {"type": "integer", "minimum": 1, "maximum": 10}},
        "required": ["query", "top_k"], "additionalProperties": False}}},
]


def post(base, body, stream=False):
    request = urllib.request.Request(base + "/v1/chat/completions", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    response = urllib.request.urlopen(request, timeout=900)
    if not stream:
        return json.loads(response.read())
    chunks = []
    for line in response:
        line = line.decode().strip()
        if line.startswith("data: ") and line != "data: [DONE]":
            chunks.append(json.loads(line[6:]))
    return chunks


def accumulate(chunks):
    """The message and finish reason an OpenAI client builds from streamed deltas."""
    calls, content, finish = {}, "", None
    for chunk in chunks:
        for choice in chunk.get("choices", []):
            delta = choice.get("delta", {})
            content += delta.get("content") or ""
            for call in delta.get("tool_calls") or []:
                entry = calls.setdefault(call["index"], {"name": "", "arguments": ""})
                function = call.get("function") or {}
                entry["name"] += function.get("name") or ""
                entry["arguments"] += function.get("arguments") or ""
            finish = choice.get("finish_reason") or finish
    return [calls[i] for i in sorted(calls)], content, finish


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--schema", default="benchmarks/schemas/poem.json")
    parser.add_argument("--field", default="guided_json", choices=["guided_json", "structured_outputs"])
    parser.add_argument("--num-requests", type=int, default=100)
    parser.add_argument("--max-tokens", type=int, default=128)
    args = parser.parse_args()
    base, schema = args.base_url, json.load(open(args.schema))
    failures, figures = [], {}

    def chat(i, extra):
        body = {"model": args.model, "max_tokens": args.max_tokens, "temperature": 0,
                "messages": [{"role": "user", "content": f"Poem {i}: write a poem about the sea as JSON with a title and the content."}]}
        body.update(extra)
        return post(base, body)

    constrained = {"guided_json": schema} if args.field == "guided_json" else {"structured_outputs": {"json": schema}}
    for mode, extra in [("free", {"ignore_eos": True}), ("constrained", constrained)]:
        chat(0, extra)  # warm-up: a schema's grammar is compiled (and its first masks computed) once
        start = time.time()
        with concurrent.futures.ThreadPoolExecutor(args.num_requests) as pool:
            answers = list(pool.map(lambda i: chat(i, extra), range(args.num_requests)))
        seconds = time.time() - start
        tokens = sum(a["usage"]["completion_tokens"] for a in answers)
        reasons = {}
        for a in answers:
            reasons[a["choices"][0]["finish_reason"]] = reasons.get(a["choices"][0]["finish_reason"], 0) + 1
            if mode == "constrained" and a["choices"][0]["finish_reason"] == "stop":
                try:
                    value = json.loads(a["choices"][0]["message"]["content"])
                    assert all(isinstance(value.get(k), str) for k in schema.get("required", []))
                except Exception as error:  # noqa: BLE001
                    failures.append(f"constrained answer does not follow the schema ({error!r}): {a['choices'][0]['message']['content'][:200]!r}")
        figures[mode] = {"output_tok_s": round(tokens / seconds, 1), "seconds": round(seconds, 2), "tokens": tokens,
                         "finish_reasons": reasons}
    figures["constrained_over_free"] = round(figures["constrained"]["output_tok_s"] / figures["free"]["output_tok_s"], 3)

    def check_calls(calls, what):
        by_name = {t["function"]["name"]: t["function"]["parameters"] for t in TOOLS}
        if not calls:
            failures.append(f"{what}: no tool call")
        for call in calls:
            name = call["function"]["name"] if "function" in call else call["name"]
            arguments = call["function"]["arguments"] if "function" in call else call["arguments"]
            try:
                value = json.loads(arguments)
                assert isinstance(value, dict) and name in by_name
                assert all(k in value for k in by_name[name].get("required", [])), "a required key is missing"
            except Exception as error:  # noqa: BLE001
                failures.append(f"{what}: call {name!r} arguments {arguments[:200]!r} ({error!r})")

    tools_checked = 0
    for choice, reason in [("required", "tool_calls"), ({"type": "function", "function": {"name": "search"}}, "stop")]:
        for i in range(8):
            body = {"model": args.model, "max_tokens": 512, "temperature": 0, "tools": TOOLS, "tool_choice": choice,
                    "messages": [{"role": "user", "content": f"Question {i}: what is the weather in Paris, and news about it?"}]}
            whole = post(base, body)
            what = f"tool_choice {json.dumps(choice)} #{i}"
            message, finish = whole["choices"][0]["message"], whole["choices"][0]["finish_reason"]
            if finish == "length":
                continue  # cut before the call closed: not judged
            check_calls(message.get("tool_calls") or [], what)
            if finish != reason:
                failures.append(f"{what}: finish_reason {finish}, vLLM's is {reason}")
            streamed, content, streamed_finish = accumulate(post(base, dict(body, stream=True), stream=True))
            whole_calls = [{"name": c["function"]["name"], "arguments": c["function"]["arguments"]}
                           for c in message.get("tool_calls") or []]
            if [(c["name"], json.loads(c["arguments"])) for c in streamed] != [(c["name"], json.loads(c["arguments"])) for c in whole_calls]:
                failures.append(f"{what}: streamed calls {streamed} differ from the whole answer's {whole_calls}")
            if streamed_finish != finish:
                failures.append(f"{what}: streamed finish_reason {streamed_finish}, whole {finish}")
            tools_checked += 1
    for stream in [False, True]:
        body = {"model": args.model, "max_tokens": 32, "temperature": 0, "tools": TOOLS, "tool_choice": "auto",
                "stream": stream, "messages": [{"role": "user", "content": "Hello"}]}
        post(base, body, stream=stream)  # raises on an HTTP error
    figures["tool_call_answers_checked"] = tools_checked
    figures["failures"] = failures
    print(json.dumps(figures))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
