"""Goldens for the grammar engine (Tests/VLLMGrammarTests/Goldens), from xgrammar — vLLM's default
structured-output backend, at the version vLLM 0.26.0 uses — run on this machine's CPU:

  pip install xgrammar==0.2.7 transformers
  python3 scripts/make_grammar_goldens.py ../shared

1. json_schema_suite.json: for every group of ../shared/json-schema-test-suite whose schema xgrammar
   compiles, each test instance written three ways (compact, json.dumps' spacing, indented) and whether
   xgrammar's matcher accepts it whole. The schemas and instances stay in ../shared (read by the test);
   only xgrammar's verdicts are stored.
2. grammar_strings.json: EBNF grammars, regexes and schemas written here, with strings and verdicts.
3. token_masks.json: for a few schemas and a text tokenized by Qwen2.5's tokenizer, xgrammar's token
   mask at every step (count and a checksum of the allowed ids: their sum, and their squares' sum mod 2^61 - 1), its stop and special token ids.
4. mask_paths.json: on every tokenizer in ../shared (stories260K, gpt2, phi-3-mini, qwen2.5), random paths
   through schemas, a regex, an EBNF grammar and any-JSON — each step a token drawn (seeded) from
   xgrammar's mask, and that mask's count and checksum.
"""
import json, os, re, sys
import xgrammar as xgr
from xgrammar.testing import _is_grammar_accept_string

shared = sys.argv[1] if len(sys.argv) > 1 else "../shared"
out = os.path.join(os.path.dirname(__file__), "..", "Tests", "VLLMGrammarTests", "Goldens")
os.makedirs(out, exist_ok=True)

def writings(data):
    forms = [json.dumps(data, separators=(",", ":"), ensure_ascii=False), json.dumps(data, ensure_ascii=False),
             json.dumps(data, indent=2, ensure_ascii=False)]
    return list(dict.fromkeys(forms))

suite = []
for folder in ["draft2020-12", "draft2020-12-extra"]:
    base = os.path.join(shared, "json-schema-test-suite", folder)
    for name in sorted(os.listdir(base)):
        groups = json.load(open(os.path.join(base, name)))
        for g, group in enumerate(groups):
            entry = {"file": f"{folder}/{name}", "group": g}
            try:
                grammar = xgr.Grammar.from_json_schema(json.dumps(group["schema"]))
            except Exception as e:
                entry["xgrammar_error"] = re.sub(r"^\[[0-9:]+\] ", "", str(e).splitlines()[0])[:200]
                suite.append(entry)
                continue
            cases = []
            for t, test in enumerate(group["tests"]):
                for text in writings(test["data"]):
                    cases.append({"test": t, "text": text, "accepted": _is_grammar_accept_string(grammar, text)})
            entry["cases"] = cases
            suite.append(entry)
json.dump(suite, open(os.path.join(out, "json_schema_suite.json"), "w"), ensure_ascii=False, indent=0)

def cases_for(grammar, texts):
    return [{"text": t, "accepted": _is_grammar_accept_string(grammar, t)} for t in texts]

ebnf = [
    (r'root ::= "a" ([b-d]+ | "x"?) tail{2,3}' + "\n" + r'tail ::= [^a-z\n]',
     ["abb12", "ax12", "a12", "a123", "a1234", "ab1z", "a1é3", "a", "", "a\n12"]),
    ('root ::= expr\nexpr ::= term (("+" | "-") term)*\nterm ::= [0-9]+ | "(" expr ")"',
     ["1+2", "(1+2)-3", "((4))", "1+", "()", "12-(3+(4-5))", "1++2"]),
    ('root ::= "\\"" [^"\\\\]* "\\""', ['"abc"', '""', '"a\\"', '"a"b"', '"é✓"']),
    ('root ::= ("yes" | "no") ("!" | "")', ["yes", "no!", "yes!!", "maybe", ""]),
]
regexes = [
    (r"^[a-c]+x?\d{2}$", ["ab12", "abx12", "x12", "abc1", "cccx99", "abx123"]),
    (r"(cat|dog)s?", ["cat", "dogs", "cats", "catdog", "do"]),
    (r"\w+@\w+\.com", ["a@b.com", "ab_1@x.com", "@b.com", "a@b.org"]),
    (r"[^aeiou]{2,4}", ["bc", "bcdf", "b", "bcdfg", "ba", "✓✓"]),
    (r"(?:ab){2,}|z", ["abab", "ababab", "ab", "z", "zz"]),
    (r"\d+(\.\d+)?", ["1", "1.5", "1.", ".5", "12.34"]),
    (r"a.c", ["abc", "a c", "a\nc", "ac", "aéc"]),
]
schemas = [
    ({"type": "object", "title": "Poem", "required": ["title", "content"],
      "properties": {"title": {"title": "Title", "type": "string"}, "content": {"title": "Content", "type": "string"}}},
     ['{"title": "A", "content": "B"}', '{"title":"A","content":"B"}', '{"content": "B", "title": "A"}',
      '{"title": "A"}', '{ "title" : "x\\ny" ,\n "content":"" }', '{"title": "A", "content": "B", "x": 1}']),
    ({"type": "integer", "minimum": -5, "maximum": 123}, ["-5", "-6", "0", "123", "124", "-0", "07", "99"]),
    ({"type": "integer", "exclusiveMinimum": 9}, ["9", "10", "100000", "010"]),
    ({"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "string"}, "c": {"type": "boolean"}},
      "required": ["b"]},
     ['{"b": ""}', '{"a": 1, "b": "x"}', '{"b": "x", "c": true}', '{"a": 1, "b": "x", "c": false}', '{"a": 1}',
      '{"c": true, "b": "x"}', '{}']),
    ({"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 4},
     ["[1,2]", "[1]", "[1,2,3,4]", "[1,2,3,4,5]", "[ 1 , 2 ]", "[]"]),
    ({"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "minItems": 1},
     ['["a"]', '["a", 1]', '[]', '["a", 1, 2]', '[1]']),
    ({"type": "string", "format": "date"}, ['"2024-02-30"', '"2024-13-01"', '"24-01-01"', '"2024-01-01"']),
    ({"type": "string", "format": "date-time"}, ['"2024-01-01T10:00:00Z"', '"2024-01-01T10:00:00.5+02:00"', '"2024-01-01 10:00:00Z"']),
    ({"type": "string", "format": "uuid"}, ['"123e4567-e89b-12d3-a456-426614174000"', '"123e4567e89b12d3a456426614174000"']),
    ({"type": "string", "format": "ipv4"}, ['"192.168.0.1"', '"256.1.1.1"', '"1.2.3"', '"01.2.3.4"']),
    ({"type": "string", "format": "hostname"}, ['"example.com"', '"-a.com"', '"a-b.c"', '"Example.com"']),
    ({"type": "string", "minLength": 2, "maxLength": 4}, ['"ab"', '"a"', '"abcd"', '"abcde"', '"a\\"b"']),
    ({"type": "string", "pattern": "^[a-z]+-\\d+$"}, ['"ab-12"', '"ab12"', '"-1"']),
    ({"enum": ["a", 1, None, {"x": [1, 2]}, 1.5]}, ['"a"', "1", "null", '{"x":[1,2]}', '{"x": [1, 2]}', "1.5", "2"]),
    ({"$defs": {"n": {"type": "object", "properties": {"v": {"type": "integer"}, "next": {"$ref": "#/$defs/n"}},
                      "required": ["v"]}}, "$ref": "#/$defs/n"},
     ['{"v": 1}', '{"v": 1, "next": {"v": 2, "next": {"v": 3}}}', '{"next": {"v": 2}}']),
    ({"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]}, ['"x"', "3", "null", "true", "1.5"]),
    ({"type": "object", "properties": {"a": {"type": "integer"}}, "additionalProperties": {"type": "string"}},
     ['{"a": 1, "b": "x"}', '{"a": 1, "b": 2}', '{"b": "x"}', '{}']),
    ({"type": "number"}, ["1", "-1.5e10", "1.", "01", "-0", "1E+2"]),
]
strings = {
    "ebnf": [{"grammar": g, "cases": cases_for(xgr.Grammar.from_ebnf(g), t)} for g, t in ebnf],
    "regex": [{"regex": r, "cases": cases_for(xgr.Grammar.from_regex(r), t)} for r, t in regexes],
    "schema": [{"schema": s, "cases": cases_for(xgr.Grammar.from_json_schema(json.dumps(s)), t)} for s, t in schemas],
    # vLLM's disable_any_whitespace: xgrammar's any_whitespace=False.
    "schema_no_whitespace": [{"schema": s, "cases": cases_for(xgr.Grammar.from_json_schema(json.dumps(s), any_whitespace=False),
                                                            t + [json.dumps(json.loads(x)) for x in t if x.startswith(("{", "["))])}
                             for s, t in schemas],
}
json.dump(strings, open(os.path.join(out, "grammar_strings.json"), "w"), ensure_ascii=False, indent=1)

from transformers import AutoTokenizer
tokenizer_dir = os.path.join(shared, "tokenizers", "qwen2.5")
tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
info = xgr.TokenizerInfo.from_huggingface(tokenizer, vocab_size=len(tokenizer))
compiler = xgr.GrammarCompiler(info)
mask_cases = [
    (schemas[0][0], '{"title": "Ode to Rust", "content": "Borrow, lend,\\n and \\"free\\" — ✓ safely."}'),
    (schemas[3][0], '{"a": -12, "b": "x y", "c": true}'),
    (schemas[14][0], '{"v": 7, "next": {"v": 8}}'),
    (None, '{"k": [1, 2.5, {"n": null}], "s": "ok"}'),
]
masks = {"tokenizer": "qwen2.5", "vocab_size": len(tokenizer), "stop_token_ids": list(info.stop_token_ids),
         "special_token_ids": list(info.special_token_ids), "cases": []}
for schema, text in mask_cases:
    compiled = compiler.compile_json_schema(json.dumps(schema)) if schema else compiler.compile_builtin_json_grammar()
    matcher = xgr.GrammarMatcher(compiled)
    ids = tokenizer.encode(text, add_special_tokens=False)
    bitmask = xgr.allocate_token_bitmask(1, info.vocab_size)
    steps = []
    for token in ids + [None]:
        matcher.fill_next_token_bitmask(bitmask)
        allowed = [i for i in range(info.vocab_size) if (int(bitmask[0, i // 32]) >> (i % 32)) & 1]
        steps.append({"token": token, "allowed": len(allowed),
                      "checksum": [sum(allowed), sum(i * i for i in allowed) % (2**61 - 1)],
                      "sample": allowed[:5] if len(allowed) > 5 else allowed})
        if token is not None:
            assert matcher.accept_token(token), (text, token)
    masks["cases"].append({"schema": schema, "text": text, "token_ids": ids, "steps": steps})
json.dump(masks, open(os.path.join(out, "token_masks.json"), "w"), ensure_ascii=False, indent=1)

import random
grammars = [
    ("json", schemas[0][0]), ("json", schemas[3][0]), ("json", schemas[14][0]),
    ("regex", "[a-z]{2,6}( [a-z]{2,6}){0,4}\\."),
    ("ebnf", 'root ::= "The " animal " is " ("big" | "small") "."\nanimal ::= "cat" | "dog" | "élan"'),
    ("json_object", None),
]
paths = []
for name in ["models/stories260K", "tokenizers/gpt2", "tokenizers/phi-3-mini", "tokenizers/qwen2.5"]:
    tok = AutoTokenizer.from_pretrained(os.path.join(shared, name))
    info = xgr.TokenizerInfo.from_huggingface(tok, vocab_size=len(tok))
    compiler = xgr.GrammarCompiler(info)
    entry = {"tokenizer": name, "vocab_size": len(tok), "stop_token_ids": list(info.stop_token_ids), "cases": []}
    for g, (kind, spec) in enumerate(grammars):
        compiled = {"json": lambda: compiler.compile_json_schema(json.dumps(spec)),
                    "regex": lambda: compiler.compile_regex(spec), "ebnf": lambda: compiler.compile_grammar(spec),
                    "json_object": lambda: compiler.compile_builtin_json_grammar()}[kind]()
        matcher = xgr.GrammarMatcher(compiled)
        rng = random.Random(1000 * g + len(name))
        bitmask = xgr.allocate_token_bitmask(1, info.vocab_size)
        steps = []
        for step in range(16):
            matcher.fill_next_token_bitmask(bitmask)
            allowed = [i for i in range(info.vocab_size) if (int(bitmask[0, i // 32]) >> (i % 32)) & 1]
            stops = [t for t in allowed if t in info.stop_token_ids]
            choice = stops[0] if stops and step >= 10 else rng.choice(allowed)
            steps.append({"token": choice, "allowed": len(allowed),
                          "checksum": [sum(allowed), sum(i * i for i in allowed) % (2**61 - 1)], "sample": allowed[:5]})
            assert matcher.accept_token(choice)
            if matcher.is_terminated():
                break
        entry["cases"].append({"kind": kind, "spec": spec, "steps": steps})
    paths.append(entry)
json.dump(paths, open(os.path.join(out, "mask_paths.json"), "w"), ensure_ascii=False, indent=1)
print("wrote", out)
