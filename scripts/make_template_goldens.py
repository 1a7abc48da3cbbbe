#!/usr/bin/env python3
"""Golden renders of real chat templates by Python jinja2, the oracle for VLLMTemplates.

Reproduces the environment transformers' apply_chat_template compiles templates in (plain jinja2, no
transformers needed): ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True) with the
loopcontrols extension and a {% generation %} tag that renders its body, transformers' tojson
(json.dumps, ensure_ascii=False), raise_exception and strftime_now (clock fixed at 2025-07-10 12:00:00).

Renders every template under ../shared/chat-templates over the conversations below, and the
hf-jinja-test-vectors cases, and writes Tests/VLLMTemplatesTests/Goldens/*.json. A render is recorded by
its length and FNV-1a-64 hash of its UTF-8 bytes (short ones also in full), or by the exception jinja2 raised.

    python3 scripts/make_template_goldens.py [--dump DIR]   # --dump also writes every full render there
"""
import argparse
import datetime
import json
import os
import sys

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "chat-templates")
OUT = os.path.join(ROOT, "Tests", "VLLMTemplatesTests", "Goldens")
NOW = datetime.datetime(2025, 7, 10, 12, 0, 0)
FULL_TEXT_LIMIT = 300
DEFAULT_TOKENS = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"}


class GenerationTag(Extension):
    """transformers' AssistantTracker without mask tracking: {% generation %} renders its body."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return nodes.CallBlock(self.call_method("_body"), [], [], body).set_lineno(lineno)

    def _body(self, caller):
        return caller()


def make_env():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(fmt):
        return NOW.strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[GenerationTag, loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def fnv1a64(text):
    h = 0xCBF29CE484222325
    for b in text.encode("utf-8"):
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return format(h, "016x")


def record(text):
    r = {"length": len(text.encode("utf-8")), "fnv1a64": fnv1a64(text)}
    if len(text) <= FULL_TEXT_LIMIT:
        r["text"] = text
    return r


def render(env, source, context):
    try:
        template = env.from_string(source)
    except jinja2.TemplateSyntaxError as e:
        return {"error_type": "TemplateSyntaxError", "error": str(e), "line": e.lineno}, None
    except Exception as e:  # unknown filter or test names fail at compile time too
        return {"error_type": type(e).__name__, "error": str(e)}, None
    try:
        text = template.render(**context)
    except Exception as e:
        return {"error_type": type(e).__name__, "error": str(e)}, None
    return record(text), text


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "City name, e.g. Paris"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["location"],
        },
    },
}


def tool_call_conversation(arguments):
    return [
        {"role": "system", "content": "You are a helpful assistant with tools."},
        {"role": "user", "content": "What's the weather in Paris?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": arguments}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "name": "get_weather", "content": '{"temperature": 22, "unit": "celsius"}'},
    ]


CONVERSATIONS = [
    {"name": "system_user_gen", "add_generation_prompt": True,
     "messages": [{"role": "system", "content": "You are a helpful assistant."},
                  {"role": "user", "content": "Hello, who are you?"}]},
    {"name": "user_only_nogen", "add_generation_prompt": False,
     "messages": [{"role": "user", "content": "Hi there"}]},
    {"name": "multi_turn_gen", "add_generation_prompt": True,
     "messages": [{"role": "system", "content": "Be brief."},
                  {"role": "user", "content": "What is 2+2?"},
                  {"role": "assistant", "content": "4"},
                  {"role": "user", "content": "And 3+3?"}]},
    {"name": "multi_turn_nogen", "add_generation_prompt": False,
     "messages": [{"role": "user", "content": "Tell me a joke."},
                  {"role": "assistant", "content": "Why did the chicken cross the road?"},
                  {"role": "user", "content": "Why?"},
                  {"role": "assistant", "content": "To get to the other side."}]},
    {"name": "tools_gen", "add_generation_prompt": True, "tools": [WEATHER_TOOL],
     "messages": [{"role": "system", "content": "You are a helpful assistant with tools."},
                  {"role": "user", "content": "What's the weather in Paris?"}]},
    {"name": "tool_call_dict_args", "add_generation_prompt": True, "tools": [WEATHER_TOOL],
     "messages": tool_call_conversation({"location": "Paris", "unit": "celsius"})},
    {"name": "tool_call_string_args", "add_generation_prompt": True, "tools": [WEATHER_TOOL],
     "messages": tool_call_conversation('{"location": "Paris", "unit": "celsius"}')},
    {"name": "non_ascii_gen", "add_generation_prompt": True,
     "messages": [{"role": "system", "content": "Tu es un assistant. 日本語で答えてください。"},
                  {"role": "user", "content": "Grüße! 😀 ¿Qué tal? \"quoted\" and 'single' \\ back\tslash\nnew line"}]},
    {"name": "empty_content_gen", "add_generation_prompt": True,
     "messages": [{"role": "user", "content": ""}, {"role": "assistant", "content": ""},
                  {"role": "user", "content": ""}]},
    {"name": "reasoning_no_thinking", "add_generation_prompt": True, "extra": {"enable_thinking": False},
     "messages": [{"role": "user", "content": "Solve x+1=3."},
                  {"role": "assistant", "content": "x = 2", "reasoning_content": "Subtract 1 from both sides."},
                  {"role": "user", "content": "Now x+2=5?"}]},
]


def template_sources():
    """(id relative to ../shared/chat-templates, source, special tokens) for every template there."""
    out = []
    for folder in sorted(os.listdir(SHARED)):
        path = os.path.join(SHARED, folder)
        if not os.path.isdir(path) or folder == "hf-jinja-test-vectors":
            continue
        for name in sorted(os.listdir(path)):
            full = os.path.join(path, name)
            rel = folder + "/" + name
            if name.endswith(".jinja"):
                out.append((rel, open(full, encoding="utf-8").read(), DEFAULT_TOKENS))
            elif name.endswith(".json"):
                config = json.load(open(full, encoding="utf-8"))
                template = config.get("chat_template")
                if isinstance(template, list):
                    template = next(t["template"] for t in template if t["name"] == "default")
                if template is None:
                    continue
                tokens = dict(DEFAULT_TOKENS)
                for key in DEFAULT_TOKENS:
                    value = config.get(key)
                    if isinstance(value, dict):
                        value = value.get("content")
                    if isinstance(value, str):
                        tokens[key] = value
                    elif name.endswith("tokenizer_config.json"):
                        tokens.pop(key)
                out.append((rel, template, tokens))
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dump", help="also write every full render under this folder")
    args = parser.parse_args()
    env = make_env()
    os.makedirs(OUT, exist_ok=True)

    results = {}
    counts = {"ok": 0, "error": 0}
    for rel, source, tokens in template_sources():
        per = {}
        for conv in CONVERSATIONS:
            context = dict(tokens)
            context.update(conv.get("extra", {}))
            context.update(messages=conv["messages"], tools=conv.get("tools"), documents=None,
                           add_generation_prompt=conv["add_generation_prompt"])
            rec, text = render(env, source, context)
            per[conv["name"]] = rec
            counts["error" if text is None else "ok"] += 1
            if args.dump and text is not None:
                path = os.path.join(args.dump, rel.replace("/", "__") + "." + conv["name"] + ".txt")
                os.makedirs(args.dump, exist_ok=True)
                open(path, "w", encoding="utf-8").write(text)
        results[rel] = {"special_tokens": tokens, "renders": per}
    meta = {"jinja2": jinja2.__version__, "python": sys.version.split()[0], "now": NOW.isoformat(),
            "default_special_tokens": DEFAULT_TOKENS}
    with open(os.path.join(OUT, "templates.json"), "w", encoding="utf-8") as f:
        json.dump({"meta": meta, "conversations": CONVERSATIONS, "templates": results}, f, ensure_ascii=False,
                  indent=1, sort_keys=False)
    print(f"templates: {len(results)} x {len(CONVERSATIONS)} conversations: {counts}")

    vectors = os.path.join(SHARED, "hf-jinja-test-vectors")
    features = json.load(open(os.path.join(vectors, "jinja-feature-cases.json"), encoding="utf-8"))
    feature_out = {}
    for name, case in features.items():
        rec, text = render(env, case["template"], case["context"])
        if text is not None:
            rec["text"] = text
        feature_out[name] = rec
    e2e = json.load(open(os.path.join(vectors, "e2e-model-templates.json"), encoding="utf-8"))
    e2e_out = {}
    for group, cases in e2e.items():
        for name, case in cases.items():
            rec, text = render(env, case["chat_template"], case["data"])
            if text is not None:
                rec["matches_huggingface_js_target"] = text == case["target"]
            e2e_out[group + "/" + name] = rec
    with open(os.path.join(OUT, "test-vectors.json"), "w", encoding="utf-8") as f:
        json.dump({"meta": meta, "feature_cases": feature_out, "e2e_cases": e2e_out}, f, ensure_ascii=False, indent=1)
    print(f"feature cases: {len(feature_out)}, errors: {sum('error' in r for r in feature_out.values())}")
    print(f"e2e cases: {len(e2e_out)}, errors: {sum('error' in r for r in e2e_out.values())}")


if __name__ == "__main__":
    main()
