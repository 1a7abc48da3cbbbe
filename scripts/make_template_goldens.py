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


# Feature cases of our own: each construct the issue lists, rendered by jinja2 (or the error it raises).
OWN_CASES = [
    ("loop_vars", "{% for x in xs %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}|{% endfor %}", {"xs": ["a", "b", "c"]}),
    ("loop_prev_next", "{% for x in xs %}[{{ loop.previtem }}<{{ x }}>{{ loop.nextitem }}]{% endfor %}", {"xs": [1, 2, 3]}),
    ("loop_cycle", "{% for x in xs %}{{ loop.cycle('odd', 'even') }} {% endfor %}", {"xs": [1, 2, 3]}),
    ("loop_else", "{% for x in xs %}{{ x }}{% else %}empty{% endfor %}", {"xs": []}),
    ("loop_filter", "{% for x in xs if x % 2 %}{{ x }}/{{ loop.length }} {% endfor %}", {"xs": [1, 2, 3, 4, 5]}),
    ("loop_unpack", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}", {"d": {"b": 1, "a": 2}}),
    ("loop_break_continue", "{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x > 4 %}{% break %}{% endif %}{{ x }}{% endfor %}", {}),
    ("loop_scope", "{% set x = 0 %}{% for i in range(3) %}{% set x = x + i %}{{ x }}{% endfor %}|{{ x }}", {}),
    ("nested_loop", "{% for a in [1,2] %}{% for b in 'xy' %}{{ loop.index }}{{ a }}{{ b }} {% endfor %}{{ loop.index }};{% endfor %}", {}),
    ("namespace", "{% set ns = namespace(n=0, s='') %}{% for i in range(4) %}{% set ns.n = ns.n + i %}{% set ns.s = ns.s ~ i %}{% endfor %}{{ ns.n }} {{ ns.s }}", {}),
    ("block_set", "{% set v %}  Hello {{ name }}!  {% endset %}[{{ v }}]{% set w | upper %}abc{% endset %}{{ w }}", {"name": "Ann"}),
    ("set_tuple", "{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set t = (3, 4) %}{{ t[1] }}", {}),
    ("macro", "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('Bo') }} {{ greet('Al', punct='?') }} {{ greet(punct='.', name='X') }}", {}),
    ("macro_varargs", "{% macro m(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, 3, k=4) }}", {}),
    ("call_block", "{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap('b') %}bold {{ 1 + 1 }}{% endcall %}", {}),
    ("call_block_args", "{% macro each(xs) %}{% for x in xs %}{{ caller(x) }}{% endfor %}{% endmacro %}{% call(item) each([1, 2]) %}<{{ item }}>{% endcall %}", {}),
    ("raw", "{% raw %}{{ not rendered }} {% if %}{% endraw %}", {}),
    ("filter_block", "{% filter upper %}shout {{ 'this' }}{% endfilter %}", {}),
    ("generation_tag", "{% for m in messages %}{% generation %}{{ m.content }}{% endgeneration %}{% endfor %}", {"messages": [{"content": "a"}, {"content": "b"}]}),
    ("whitespace_control", "a  {%- if true -%}  b  {%- endif -%}  c {{- ' d ' -}} e\n  {{ 'f' }}  \n{#- comment -#}  g", {}),
    ("trim_lstrip_blocks", "<ul>\n    {% for x in xs %}\n    <li>{{ x }}</li>\n    {% endfor %}\n</ul>\n", {"xs": [1, 2]}),
    ("lstrip_plus", "x\n    {%+ if true %}y{% endif +%}\nz\n  {# c #}\nw", {}),
    ("comment_trim", "a{# one #}\nb\n  {#- two -#}\n  c", {}),
    ("trailing_newline", "line\n", {}),
    ("crlf", "a\r\n{% if true %}\r\nb\r\n{% endif %}\r\nc", {}),
    ("literals", "{{ 1 }} {{ 1.5 }} {{ 'a' \"b\" }} {{ [1, 'x', none, true] }} {{ {'k': [1, 2.0], 2: None} }} {{ (1,) }} {{ 1_000 }} {{ 0x1f }} {{ 1e3 }}", {}),
    ("floats", "{{ 0.1 + 0.2 }} {{ 1e16 }} {{ 1.5e-7 }} {{ 123456789012345.6 }} {{ 2.0 ** 60 }} {{ -0.0 }} {{ 1/3 }} {{ 10 / 2 }}", {}),
    ("arithmetic", "{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 7.5 // 2 }} {{ -7.5 % 2 }} {{ 1 + 2 * 3 - 4 }} {{ 2 ** 3 ** 2 }}", {}),
    ("string_ops", "{{ 'ab' * 3 }} {{ 3 * 'x' }} {{ [1] * 3 }} {{ 'a' + 'b' }} {{ [1] + [2] }} {{ 'n' ~ 1 ~ none ~ true }} {{ -(3) }} {{ +4 }}", {}),
    ("comparisons", "{{ 1 < 2 < 3 }} {{ 1 == 1.0 }} {{ true == 1 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ none == none }} {{ 'x' != 'y' }} {{ 2 >= 2 }}", {}),
    ("in_operator", "{{ 'a' in 'cat' }} {{ 2 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 3 not in [1] }} {{ 1 in [true] }} {{ 'z' in undefined_thing }}", {}),
    ("logic", "{{ 0 or 'x' }} {{ 1 and 'y' }} {{ not 0 }} {{ none or [] }} {{ '' and 1 }} {{ true and not false }}", {}),
    ("inline_if", "{{ 'yes' if x else 'no' }} {{ 'a' if not x }}|{{ 1 if y else 2 if x else 3 }}", {"x": 0, "y": 0}),
    ("indexing", "{{ xs[0] }} {{ xs[-1] }} {{ xs[1:] }} {{ xs[:-1] }} {{ xs[::2] }} {{ xs[::-1] }} {{ s[1:3] }} {{ s[-2:] }} {{ s[::-1] }} {{ d['a'] }} {{ d.a }} {{ xs.0 }} {{ xs[10] }}|", {"xs": [1, 2, 3, 4], "s": "héllo", "d": {"a": 5}}),
    ("tests", "{{ x is defined }} {{ y is undefined }} {{ none is none }} {{ 's' is string }} {{ 1 is number }} {{ 1 is integer }} {{ 1.0 is float }} {{ true is boolean }} {{ {} is mapping }} {{ [] is sequence }} {{ 's' is iterable }} {{ range is callable }} {{ true is true }} {{ 0 is false }} {{ 3 is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} {{ 2 is in [1, 2] }} {{ 1 is eq 1 }} {{ 1 is ne 2 }} {{ 1 is lt 2 }} {{ 3 is gt 2 }} {{ none is sameas none }} {{ 'a' is equalto 'a' }}", {"x": 1}),
    ("is_not", "{{ x is not none }} {{ x is not string }} {{ y is not defined }}", {"x": 1}),
    ("filters_text", "{{ '  a b  ' | trim }}|{{ 'xxhixx' | trim('x') }}|{{ 'Hello' | lower }}|{{ 'hello' | upper }}|{{ 'hello wORLD-foo(bar)' | title }}|{{ 'hELLO' | capitalize }}|{{ 'aaa' | replace('a', 'b', 2) }}|{{ 'a b  c' | wordcount }}|{{ 'ab' | center(6) }}|{{ '<b>x</b> <!-- c --> y' | striptags }}", {}),
    ("filters_list", "{{ xs | length }} {{ xs | count }} {{ xs | first }} {{ xs | last }} {{ xs | join('-') }} {{ xs | sort }} {{ xs | sort(reverse=true) }} {{ xs | unique | list }} {{ xs | reverse | list }} {{ 'abc' | list }} {{ xs | sum }} {{ xs | min }} {{ xs | max }}", {"xs": [3, 1, 2, 3]}),
    ("filters_attr", "{{ ms | map(attribute='role') | join(',') }} {{ ms | selectattr('role', 'equalto', 'user') | list | length }} {{ ms | rejectattr('role', 'eq', 'user') | map(attribute='content') | list }} {{ ms | selectattr('tool') | list }} {{ [1, 2, 3, 4] | select('odd') | list }} {{ [1, 2, 3] | reject('even') | list }} {{ ['a', 'B'] | map('upper') | list }} {{ ms | map(attribute='missing', default='d') | list }}", {"ms": [{"role": "user", "content": "u"}, {"role": "assistant", "content": "a", "tool": True}]}),
    ("filters_dict", "{{ d | items | list }} {{ d | dictsort }} {{ d | dictsort(by='value', reverse=true) }} {{ d | length }} {{ d | list }} {{ d.keys() | list }} {{ d.values() | list }} {{ d.get('zz', 'dflt') }} {{ d.get('b') }}", {"d": {"b": 2, "A": 3, "c": 1}}),
    ("filters_default", "{{ x | default('dx') }} {{ '' | default('de', true) }} {{ none | d('dn') }} {{ 0 | d('z', boolean=true) }} {{ y | default(7) }}", {"y": 1}),
    ("filters_numbers", "{{ '42' | int }} {{ '4.7' | int }} {{ 'x' | int(5) }} {{ '0x1A' | int(0, 16) }} {{ 3 | float }} {{ 'nope' | float }} {{ -3 | abs }} {{ 2.5 | round }} {{ 3.14159 | round(2) }} {{ 2.1 | round(method='ceil') }} {{ 2.9 | round(0, 'floor') }} {{ 7 | round }} {{ 1 | string }} {{ [1] | string }}", {}),
    ("filters_indent", "[{{ 'a\nb\n\nc' | indent }}][{{ 'a\nb' | indent(2, true) }}][{{ 'a\n\nb' | indent('> ', blank=true) }}]", {}),
    ("filters_batch", "{{ [1, 2, 3, 4, 5] | batch(2) | list }} {{ [1, 2, 3] | batch(2, 'x') | list }}", {}),
    ("filters_format", "{{ '%s-%d-%.2f-%5s|%-4s|%x' | format('a', 3, 1.5, 'r', 'l', 255) }} {{ '%(n)s!' | format(n='kw') }} {{ '%s and %r' % ('x', 'y') }}", {}),
    ("tojson", "{{ d | tojson }}|{{ d | tojson(indent=2) }}|{{ d | tojson(separators=(',', ':')) }}|{{ d | tojson(sort_keys=true) }}|{{ 'é\"\\\n\t\u0001' | tojson }}|{{ [1.0, 2, none, true] | tojson }}|{{ {} | tojson(indent=4) }}|{{ d | tojson(ensure_ascii=true) }}", {"d": {"z": 1, "a": [1, {"k": "ü"}], "m": None}}),
    ("str_methods", "{{ ' x '.strip() }}|{{ 'xyx'.strip('x') }}|{{ ' x '.lstrip() }}|{{ ' x '.rstrip() }}|{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ 'a b c'.split(' ', 1) }}|{{ 'a b c'.rsplit(' ', 1) }}|{{ 'abc'.startswith('ab') }}|{{ 'abc'.endswith(('x', 'c')) }}|{{ 'Ab'.upper() }}{{ 'Ab'.lower() }}|{{ 'hello world'.title() }}|{{ 'aXa'.replace('a', 'b') }}|{{ '{} {name}'.format(1, name='n') }}|{{ 'abcabc'.find('c') }}{{ 'abcabc'.rfind('c') }}{{ 'abcabc'.index('b') }}{{ 'abcabc'.count('a') }}|{{ 'l1\nl2\r\nl3'.splitlines() }}|{{ '-'.join(['a', 'b']) }}|{{ '42'.isdigit() }}{{ 'ab'.isalpha() }}|{{ '7'.zfill(3) }}|{{ 'ab'.capitalize() }}", {}),
    ("list_dict_methods", "{{ xs.index(2) }} {{ xs.count(1) }} {{ d.items() | list }} {{ d.keys() | list }} {{ d.get('a') }} {{ d['items'] is defined }}", {"xs": [1, 2, 1], "d": {"a": 1}}),
    ("globals", "{{ range(3) | list }} {{ range(1, 7, 2) | list }} {{ dict(a=1, b=2) }} {% set c = cycler('x', 'y') %}{{ c.next() }}{{ c.next() }}{{ c.next() }}{{ c.current }} {% set j = joiner('+') %}{% for i in range(3) %}{{ j() }}{{ i }}{% endfor %} {{ strftime_now('%Y-%m-%d %H:%M %A %b') }}", {}),
    ("python_repr", "{{ ['a', \"it's\", 'q\"', 'n\nl', '\u00e9', 1.0, none, true, {'k': 'v'}] }} {{ {'a': none} }}", {}),
    ("undefined_lenient", "[{{ missing }}][{{ missing | length }}][{{ missing is defined }}][{% for x in missing %}x{% endfor %}][{{ missing ~ 'a' }}][{{ missing | default('d') }}][{{ d.nope }}][{{ d.nope is defined }}][{{ none.attr }}]", {"d": {}}),
    ("loop_over_dict_and_string", "{% for k in d %}{{ k }}{% endfor %}|{% for ch in 'héj' %}{{ ch }}.{% endfor %}", {"d": {"x": 1, "y": 2}}),
    ("non_ascii", "{{ s | length }} {{ s | upper }} {{ s[1] }} {{ s | tojson }} {{ s | reverse }}", {"s": "ñandú 日本 😀"}),
    ("messages_like", "{% for m in messages %}{% if m['role'] == 'system' %}S:{{ m['content'] }}{% elif m.role == 'user' %}U:{{ m.content | trim }}{% else %}A:{{ m.content }}{% endif %}\n{% endfor %}{% if add_generation_prompt %}A:{% endif %}", {"messages": [{"role": "system", "content": "sys"}, {"role": "user", "content": " hi "}, {"role": "assistant", "content": "yo"}], "add_generation_prompt": True}),
    # Errors jinja2 raises, which we must raise too.
    ("err_raise_exception", "{% if messages[0].role == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}", {"messages": [{"role": "system"}]}),
    ("err_list_append", "{% set xs = [] %}{{ xs.append(1) }}", {}),
    ("err_dict_update", "{% set d = {} %}{{ d.update({'a': 1}) }}", {}),
    ("err_undefined_attr", "{{ missing.attr }}", {}),
    ("err_undefined_nested", "{{ d.a.b }}", {"d": {}}),
    ("err_add_types", "{{ 1 + 'a' }}", {}),
    ("err_div_zero", "{{ 1 // 0 }}", {}),
    ("err_compare_types", "{{ 'a' < 1 }}", {}),
    ("err_tojson_undefined", "{{ missing | tojson }}", {}),
    ("err_generator_length", "{{ [1, 2] | select('odd') | length }}", {}),
    ("err_not_iterable", "{% for x in 5 %}{% endfor %}", {}),
    ("err_call_non_callable", "{{ 'abc'() }}", {}),
    ("err_range_too_big", "{{ range(200000) | length }}", {}),
    ("err_namespace_attr_on_dict", "{% set d = {} %}{% set d.x = 1 %}", {}),
    ("syntax_unknown_tag", "line one\n{% foo %}", {}),
    ("syntax_unclosed_if", "a\n{% if x %}\nb", {}),
    ("syntax_bad_expression", "ok\nok\n{{ 1 + }}", {}),
    ("syntax_unknown_filter", "\n\n{{ x | no_such_filter }}", {}),
    ("syntax_unknown_filter_in_if", "{% if x %}{{ x | no_such_filter }}{% endif %}ok", {}),
    ("syntax_unclosed_comment", "a {# b", {}),
    ("syntax_unbalanced", "{{ (1 }}", {}),
    ("syntax_endfor_mismatch", "{% for x in y %}{% endif %}", {}),
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
    own_out = {}
    for name, source, context in OWN_CASES:
        rec, text = render(env, source, context)
        if text is not None:
            rec["text"] = text
        own_out[name] = {"template": source, "context": context, "expected": rec}
    with open(os.path.join(OUT, "own-cases.json"), "w", encoding="utf-8") as f:
        json.dump({"meta": meta, "cases": own_out}, f, ensure_ascii=False, indent=1)
    print(f"own cases: {len(own_out)}, errors: {sum('error' in r['expected'] for r in own_out.values())}")
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
