#!/usr/bin/env python3
"""Drives a running `swift-vllm serve` with the official `openai` client: completions, chat,
streaming, logprobs, errors; then a load test of N concurrent streaming requests whose text must
equal each prompt's greedy text served alone, with /metrics (parsed by prometheus_client) agreeing
with what was sent and the KV cache empty afterwards.

    python3 scripts/live_server_check.py --base-url http://127.0.0.1:8000 --api-key sk-test --model demo
"""
import argparse
import asyncio
import sys
import time
import urllib.request

import openai
from prometheus_client.parser import text_string_to_metric_families


def check(condition, what):
    if not condition:
        print(f"FAIL: {what}")
        sys.exit(1)
    print(f"ok: {what}")


def metrics(base_url):
    text = urllib.request.urlopen(f"{base_url}/metrics").read().decode()
    values = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = sample.name
            if "finished_reason" in sample.labels:
                key += "{" + sample.labels["finished_reason"] + "}"
            if "le" in sample.labels:
                continue
            values[key] = sample.value
    return values


def basic(client, model, max_model_len):
    models = client.models.list()
    check(any(m.id == model for m in models.data), f"/v1/models lists {model}")

    c = client.completions.create(model=model, prompt="Hello", max_tokens=8, temperature=0)
    check(c.object == "text_completion" and len(c.choices) == 1, "completion object")
    check(c.usage.completion_tokens == 8 and c.choices[0].finish_reason == "length", "completion usage and finish")

    c2 = client.completions.create(model=model, prompt=["a", "b"], max_tokens=3, n=2, temperature=1)
    check([ch.index for ch in c2.choices] == [0, 1, 2, 3], "two prompts, n=2: four choices")

    # Beam search (vLLM's use_beam_search, n beams; the engine's beams are checked against transformers in
    # BeamSearchTests): n beams come back in one answer, best first (same length: by cumulative logprob).
    beam = dict(use_beam_search=True, ignore_eos=True)
    b3 = client.completions.create(model=model, prompt="Once", max_tokens=8, temperature=0, n=3, logprobs=1,
                                   extra_body=dict(beam, length_penalty=1.0))
    sums = [sum(ch.logprobs.token_logprobs) for ch in b3.choices]
    check(len(b3.choices) == 3 and b3.usage.completion_tokens == 24
          and all(ch.finish_reason == "length" and len(ch.logprobs.tokens) == 8 for ch in b3.choices),
          "beam search: three beams of 8 tokens")
    check(all(a >= b - 1e-4 for a, b in zip(sums, sums[1:])), "beam search: best beam first")
    bc = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}], max_tokens=5,
                                        temperature=0, n=2, extra_body=beam)
    check(len(bc.choices) == 2 and bc.usage.completion_tokens == 10, "chat beam search: two beams")

    lp = client.completions.create(model=model, prompt="Hi", max_tokens=3, temperature=0, logprobs=2)
    check(len(lp.choices[0].logprobs.tokens) == 3 and len(lp.choices[0].logprobs.top_logprobs) == 3,
          "completion logprobs")
    # echo + logprobs: the prompt's tokens come back with their logprobs too (null for the first), as vLLM.
    ep = client.completions.create(model=model, prompt="Hi there", max_tokens=2, temperature=0, logprobs=1, echo=True)
    tl = ep.choices[0].logprobs.token_logprobs
    check(ep.choices[0].text.startswith("Hi there") and tl[0] is None and all(isinstance(x, float) for x in tl[1:])
          and len(tl) == ep.usage.prompt_tokens + 2, "echo with logprobs: prompt logprobs after the first token")

    # prompt_logprobs (vLLM's extra field): per prompt token null (the first) or {token id: {logprob, rank,
    # decoded_token}}; the prompt token's logprob is the one echo reports for it.
    pp = client.completions.create(model=model, prompt="Hi there", max_tokens=2, temperature=0,
                                   extra_body={"prompt_logprobs": 1})
    plp = pp.choices[0].model_extra["prompt_logprobs"]
    check(len(plp) == ep.usage.prompt_tokens and plp[0] is None, "prompt_logprobs: one entry per prompt token")
    check(all(1 <= len(d) <= 2 and all({"logprob", "rank", "decoded_token"} <= set(v) for v in d.values())
              for d in plp[1:]), "prompt_logprobs: token id → logprob, rank, decoded_token")
    check(all(any(abs(v["logprob"] - want) < 1e-6 for v in d.values()) for d, want in zip(plp[1:], tl[1:])),
          "prompt_logprobs agree with echo's logprobs")
    for label, body in [("prompt_logprobs with stream → 400", {"prompt_logprobs": 1, "stream": True}),
                        ("prompt_logprobs over --max-logprobs → 400", {"prompt_logprobs": 21})]:
        try:
            client.completions.create(model=model, prompt="a", max_tokens=1, extra_body=body)
            check(False, label)
        except openai.BadRequestError as e:
            check(True, f"{label} ({e.message[:90]})")

    chat = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Say hi"}], max_tokens=6, temperature=0,
        logprobs=True, top_logprobs=2)
    check(chat.object == "chat.completion" and chat.choices[0].message.role == "assistant", "chat completion")
    check(len(chat.choices[0].logprobs.content) == chat.usage.completion_tokens, "chat logprobs per token")
    check(all(len(t.top_logprobs) == 2 for t in chat.choices[0].logprobs.content), "chat top_logprobs")

    stream = client.completions.create(model=model, prompt="Hello", max_tokens=8, temperature=0, stream=True,
                                       stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(ch.choices[0].text for ch in chunks if ch.choices)
    check(text == c.choices[0].text, "streamed completion text equals the non-streamed one")
    check(chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 8, "stream usage chunk")

    chat_stream = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Say hi"}], max_tokens=6, temperature=0, stream=True)
    pieces = [ch.choices[0].delta.content or "" for ch in chat_stream if ch.choices]
    check("".join(pieces) == (chat.choices[0].message.content or ""), "streamed chat text equals the non-streamed one")

    for label, call, error in [
        ("unknown model → 404", lambda: client.completions.create(model="nope", prompt="a"), openai.NotFoundError),
        ("temperature 5 → 400", lambda: client.completions.create(model=model, prompt="a", temperature=5),
         openai.BadRequestError),
        ("suffix → 400", lambda: client.completions.create(model=model, prompt="a", suffix="b"),
         openai.BadRequestError),
        ("out-of-vocab logit_bias → 400", lambda: client.completions.create(
            model=model, prompt="a", max_tokens=1, logit_bias={"1000000": 5}), openai.BadRequestError),
    ]:
        try:
            call()
            check(False, label)
        except error as e:
            check(True, f"{label} ({e.status_code}: {e.message[:80]})")
    try:
        client.completions.create(model=model, prompt="x" * (max_model_len + 10), max_tokens=1)
        check(False, "too long prompt refused")
    except openai.BadRequestError as e:
        msg = str(e)
        check(str(max_model_len) in msg and str(max_model_len + 11) in msg, "too long prompt: 400 naming both numbers")


POEM = {"type": "object", "title": "Poem", "required": ["title", "content"],
        "properties": {"title": {"title": "Title", "type": "string", "maxLength": 20},
                       "content": {"title": "Content", "type": "string", "maxLength": 60}}}


def structured(client, model):
    """Structured outputs on the demo model (random weights: only the grammar shapes its text), each
    output checked by `jsonschema` / `re`; bad specs are 400s and the server keeps serving."""
    import jsonschema, json, re
    for label, extra in [
        ("response_format json_schema", {"response_format": {"type": "json_schema", "json_schema": {"name": "poem", "schema": POEM}},
                                         "structured_outputs": None}),
        ("structured_outputs.json", {"structured_outputs": {"json": POEM, "disable_any_whitespace": True}}),
        ("guided_json (vLLM's older field)", {"guided_json": POEM}),
    ]:
        body = {k: v for k, v in extra.items() if v is not None}
        kwargs = {"response_format": body.pop("response_format")} if "response_format" in body else {}
        r = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "A poem, as JSON"}],
                                           max_tokens=400, seed=7, extra_body=body, **kwargs)
        text = r.choices[0].message.content
        try:
            jsonschema.validate(json.loads(text), POEM)
            ok = r.choices[0].finish_reason == "stop"
        except Exception as e:  # noqa: BLE001
            ok = False
            text += f" ({e})"
        check(ok, f"{label}: output valid under jsonschema, finish_reason stop")
    c = client.completions.create(model=model, prompt="Weather:", max_tokens=20, seed=3,
                                  extra_body={"structured_outputs": {"choice": ["sunny", "rainy"]}})
    check(c.choices[0].text in ("sunny", "rainy"), f"choice: {c.choices[0].text!r}")
    stream = client.completions.create(model=model, prompt="Code:", max_tokens=30, seed=5, stream=True,
                                       extra_body={"guided_regex": "[A-Z]{2}-[0-9]{3}"})
    text = "".join(ch.choices[0].text for ch in stream if ch.choices)
    check(re.fullmatch("[A-Z]{2}-[0-9]{3}", text) is not None, f"streamed regex: {text!r}")
    for label, body in [("schema of an unknown type", {"structured_outputs": {"json": {"type": "objekt"}}}),
                        ("bad regex", {"guided_regex": "(ab"}),
                        ("two kinds at once", {"structured_outputs": {"regex": "a", "choice": ["b"]}})]:
        try:
            client.completions.create(model=model, prompt="x", max_tokens=4, extra_body=body)
            check(False, f"{label} refused")
        except openai.BadRequestError as e:
            check(e.status_code == 400, f"{label} → 400 ({e.message[:90]})")
    # ignore_eos: the demo model's random weights may sample EOS within three tokens.
    c = client.completions.create(model=model, prompt="still there?", max_tokens=3, extra_body={"ignore_eos": True})
    check(len(c.choices[0].text) >= 0 and c.usage.completion_tokens == 3, "the server still serves")

    # Tool calls: tool_choice "required" and a named function, parsed by the openai client.
    weather = {"type": "object", "properties": {"city": {"type": "string", "maxLength": 12},
                                                "days": {"type": "integer", "minimum": 1, "maximum": 7}},
               "required": ["city", "days"]}
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": weather}},
             {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}}]
    r = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Weather?"}], max_tokens=300,
                                       seed=11, tools=tools, tool_choice={"type": "function", "function": {"name": "get_weather"}})
    calls = r.choices[0].message.tool_calls or []
    ok = len(calls) == 1 and calls[0].function.name == "get_weather" and calls[0].id.startswith("chatcmpl-tool-")
    try:
        jsonschema.validate(json.loads(calls[0].function.arguments), weather)
    except Exception as e:  # noqa: BLE001
        ok = False
        print(f"  arguments: {calls[0].function.arguments if calls else None!r} ({e})")
    check(ok, "named tool_choice: one get_weather call whose arguments validate")
    r = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Weather?"}], max_tokens=400,
                                       seed=18, tools=tools, tool_choice="required")
    calls = r.choices[0].message.tool_calls or []
    ok = len(calls) >= 1 and all(c.function.name in ("get_weather", "get_time") for c in calls)
    for c in calls:
        try:
            jsonschema.validate(json.loads(c.function.arguments), weather if c.function.name == "get_weather" else {"type": "object"})
        except Exception as e:  # noqa: BLE001
            ok = False
            print(f"  arguments: {c.function.arguments!r} ({e})")
    check(ok and r.choices[0].finish_reason == "tool_calls",
          f"required tool_choice: {len(calls)} call(s), finish_reason {r.choices[0].finish_reason}")

    # The same two streamed, as vLLM streams them: a named function's arguments and each of "required"'s calls piece
    # by piece (the first piece with the call's id and name). The openai client's accumulation equals the whole
    # answer's calls — for "required" as JSON: the stream carries the model's text, the whole answer json.dumps's.
    # Seed 18 makes the demo model write two calls, each `"parameters":` with the colon next to the key: vLLM's stream
    # finds a call's arguments by that spelling, and loses their `{` where the model's random whitespace splits it.
    for choice, seed, max_tokens in [({"type": "function", "function": {"name": "get_weather"}}, 11, 300), ("required", 18, 400)]:
        whole = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Weather?"}],
                                               max_tokens=max_tokens, seed=seed, tools=tools, tool_choice=choice)
        stream = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Weather?"}],
                                                max_tokens=max_tokens, seed=seed, tools=tools, tool_choice=choice, stream=True)
        streamed, finish, pieces, content = {}, None, 0, ""
        for ch in stream:
            if not ch.choices:
                continue
            d = ch.choices[0].delta
            content += d.content or ""
            for tc in d.tool_calls or []:
                pieces += 1
                entry = streamed.setdefault(tc.index, {"id": tc.id, "name": "", "arguments": ""})
                entry["name"] += (tc.function.name or "") if tc.function else ""
                entry["arguments"] += (tc.function.arguments or "") if tc.function else ""
            finish = ch.choices[0].finish_reason or finish
        expected = [(c.function.name, json.loads(c.function.arguments)) for c in whole.choices[0].message.tool_calls or []]
        got = [(e["name"], json.loads(e["arguments"] or "null")) for _, e in sorted(streamed.items())]
        check(got == expected and finish == whole.choices[0].finish_reason and content == "" and pieces > len(got)
              and all((e["id"] or "").startswith("chatcmpl-tool-") for e in streamed.values()),
              f"tool_choice {choice if isinstance(choice, str) else 'named'} streamed: {len(got)} call(s) in {pieces} "
              f"delta(s) equal the whole answer's, finish_reason {finish}")

    # tool_choice "auto" through the hermes parser (the server runs --enable-auto-tool-choice --tool-call-parser
    # hermes): a grammar makes the demo model write a call as Qwen2.5 writes one, whole and streamed.
    hermes = ('root ::= "Checking. <tool_call>\\n{\\"name\\": \\"get_weather\\", \\"arguments\\": {\\"city\\": \\"" '
              '[a-z]{1,8} "\\", \\"days\\": " [1-7] "}}\\n</tool_call>"')
    body = {"structured_outputs": {"grammar": hermes}}
    r = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Weather?"}], max_tokens=120,
                                       seed=13, tools=tools, extra_body=body)
    m = r.choices[0].message
    calls = m.tool_calls or []
    args = json.loads(calls[0].function.arguments) if calls else None
    check(m.content == "Checking. " and len(calls) == 1 and calls[0].function.name == "get_weather"
          and r.choices[0].finish_reason == "tool_calls" and jsonschema.Draft202012Validator(weather).is_valid(args),
          f"auto tool_choice (hermes): content {m.content!r}, calls {[(c.function.name, c.function.arguments) for c in calls]}")
    stream = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Weather?"}], max_tokens=120,
                                            seed=13, tools=tools, extra_body=body, stream=True)
    content, streamed, finish, pieces = "", {}, None, 0
    for ch in stream:
        if not ch.choices:
            continue
        d = ch.choices[0].delta
        content += d.content or ""
        for tc in d.tool_calls or []:
            pieces += 1
            entry = streamed.setdefault(tc.index, {"name": "", "arguments": ""})
            entry["name"] += (tc.function.name or "") if tc.function else ""
            entry["arguments"] += (tc.function.arguments or "") if tc.function else ""
        finish = ch.choices[0].finish_reason or finish
    check(content == m.content and [(e["name"], e["arguments"]) for e in streamed.values()]
          == [(c.function.name, c.function.arguments) for c in calls] and finish == "tool_calls" and pieces > 1,
          f"auto tool_choice streamed: the same content and call ({pieces} pieces), finish_reason tool_calls")


async def load(base_url, api_key, model, concurrency):
    client = openai.AsyncOpenAI(base_url=f"{base_url}/v1", api_key=api_key, max_retries=0, timeout=600)
    prompts = [f"Prompt number {i}: tell me something." for i in range(8)]
    references = []
    for p in prompts:
        r = await client.completions.create(
            model=model, prompt=p, max_tokens=16, temperature=0, extra_body={"ignore_eos": True})
        references.append(r.choices[0].text)
    before = metrics(base_url)

    async def one(i):
        stream = await client.completions.create(
            model=model, prompt=prompts[i % len(prompts)], max_tokens=16, temperature=0, stream=True,
            stream_options={"include_usage": True}, extra_body={"ignore_eos": True})
        text, usage = "", None
        async for chunk in stream:
            if chunk.choices:
                text += chunk.choices[0].text
            if chunk.usage:
                usage = chunk.usage
        return i, text, usage

    start = time.time()
    results = await asyncio.gather(*(one(i) for i in range(concurrency)))
    seconds = time.time() - start
    wrong = [i for i, text, _ in results if text != references[i % len(prompts)]]
    check(not wrong, f"{concurrency} concurrent streams all complete with the right text ({seconds:.1f} s)")
    after = metrics(base_url)
    sent_prompt = sum(u.prompt_tokens for _, _, u in results)
    sent_gen = sum(u.completion_tokens for _, _, u in results)
    d = lambda name: after.get(name, 0) - before.get(name, 0)  # noqa: E731
    check(d("vllm:prompt_tokens_total") == sent_prompt, f"prompt_tokens_total grew by {sent_prompt}")
    check(d("vllm:generation_tokens_total") == sent_gen, f"generation_tokens_total grew by {sent_gen}")
    check(d("vllm:request_success_total{length}") == concurrency, f"request_success{{length}} grew by {concurrency}")
    check(d("vllm:e2e_request_latency_seconds_count") == concurrency, "e2e latency histogram counted every request")
    check(d("vllm:time_to_first_token_seconds_count") == concurrency, "TTFT histogram counted every request")
    check(after["vllm:num_requests_running"] == 0 and after["vllm:num_requests_waiting"] == 0, "nothing in flight")
    check(after["vllm:kv_cache_usage_perc"] == 0, "KV cache empty after the load")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--api-key", default="EMPTY")
    parser.add_argument("--model", default="demo")
    parser.add_argument("--max-model-len", type=int, default=512)
    parser.add_argument("--concurrency", type=int, default=256)
    args = parser.parse_args()
    client = openai.OpenAI(base_url=f"{args.base_url}/v1", api_key=args.api_key, max_retries=0)
    if args.api_key != "EMPTY":
        bad = openai.OpenAI(base_url=f"{args.base_url}/v1", api_key="wrong", max_retries=0)
        try:
            bad.models.list()
            check(False, "wrong API key refused")
        except openai.AuthenticationError as e:
            check(e.status_code == 401, "wrong API key → 401")
    basic(client, args.model, args.max_model_len)
    structured(client, args.model)
    asyncio.run(load(args.base_url, args.api_key, args.model, args.concurrency))
    print("live check passed")


if __name__ == "__main__":
    main()
