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
5. numeric_formats.json: `number` bounds on 45 schemas (11 chosen, 34 seeded random) and the 14 string formats
   xgrammar 0.2.7 knows, with xgrammar's verdict on strings around each bound and mutations of format examples.
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
    # Appended later (earlier paths keep their seeds): bounded numbers and string formats.
    ("json", {"type": "object", "properties": {"p": {"type": "number", "minimum": -2.5, "exclusiveMaximum": 1000}},
              "required": ["p"]}),
    ("json", {"type": "array", "items": {"type": "number", "exclusiveMinimum": 0.125, "maximum": 3}}),
    # (The path keeps out of a quoted mailbox name, where xgrammar takes escapes no JSON parser reads and we depart.)
    ("json", {"type": "string", "format": "email"}),
    ("json", {"type": "string", "format": "uri"}),
    ("json", {"type": "string", "format": "ipv6"}),
    ("json", {"type": "string", "format": "duration"}),
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
            if spec == {"type": "string", "format": "email"}:
                allowed_here = [t for t in allowed if "\\" not in tok.decode([t])]
            else:
                allowed_here = allowed
            choice = stops[0] if stops and step >= 10 else rng.choice(allowed_here)
            steps.append({"token": choice, "allowed": len(allowed),
                          "checksum": [sum(allowed), sum(i * i for i in allowed) % (2**61 - 1)], "sample": allowed[:5]})
            assert matcher.accept_token(choice)
            if matcher.is_terminated():
                break
        entry["cases"].append({"kind": kind, "spec": spec, "steps": steps})
    paths.append(entry)
json.dump(paths, open(os.path.join(out, "mask_paths.json"), "w"), ensure_ascii=False, indent=1)

# 5. numeric_formats.json: `number` bounds (xgrammar's float range regex, precision 6) on seeded random bounds,
#    and the string formats xgrammar 0.2.7 knows, each with strings near and around what they accept.
from decimal import Decimal
rng = random.Random(7)

def number_texts(bounds):
    edges, out = set(), set()
    for p in [b for b in bounds if b is not None] + [0]:
        for d in [0, 1e-6, 1e-5, 0.001, 0.5, 1, 10]:
            for sign in [1, -1]:
                for prec in [0, 1, 2, 5, 6, 7]:
                    (edges if d <= 1e-6 and prec in (0, 6, 7) else out).add(f"{p + sign * d:.{prec}f}")
    out = set(rng.sample(sorted(out - edges), min(70, len(out - edges)))) | edges
    for _ in range(20):
        whole = rng.choice(["0", "-0", str(rng.randint(-300, 300))])
        frac = "".join(rng.choice("0123456789") for _ in range(rng.randint(0, 8)))
        out.add(whole + ("." + frac if frac else ""))
    out |= {"-0", "-0.0", "0.0", "00", "1e2", "1.", ".5", "-"}
    return sorted(out)

def random_bound():
    return round(rng.uniform(-50, 50), rng.choice([0, 1, 2, 3, 6, 7])) if rng.random() < 0.8 else float(rng.randint(-3, 3))

numbers = []
fixed = [(1.5, None, False, False), (0, 10, True, False), (None, 2.25, False, True), (-1.5, 1.5, False, False),
         (0, None, False, False), (None, 0, False, False), (1e-7, None, False, False), (1e20, None, False, False),
         (None, -1e-9, False, False), (5, 5, False, False), (0.1, 0.3, False, False)]
while len(fixed) < 45:
    lo = random_bound() if rng.random() < 0.7 else None
    hi = random_bound() if rng.random() < 0.7 else None
    if lo is None and hi is None:
        continue
    if lo is not None and hi is not None and lo >= hi:
        lo, hi = hi, lo
        if lo == hi:
            continue
    fixed.append((lo, hi, rng.random() < 0.3, rng.random() < 0.3))
for lo, hi, elo, ehi in fixed:
    schema = {"type": "number"}
    if lo is not None: schema["exclusiveMinimum" if elo else "minimum"] = lo
    if hi is not None: schema["exclusiveMaximum" if ehi else "maximum"] = hi
    grammar = xgr.Grammar.from_json_schema(json.dumps(schema))
    numbers.append({"schema": schema, "cases": [[t, _is_grammar_accept_string(grammar, t)] for t in number_texts([lo, hi])]})

format_examples = {
    "email": ["a@b.co", "first.last+tag@example-mail.com", "x@y", '\\"quoted name\\"@ex.org', '\\"a\\\\q\\"@b.io', '\\"a\\q\\"@b.io', "a..b@c.com",
              "@x.com", "a@-x.com", "a@x.c", "a@x.co.uk", "a b@c.com"],
    "date": ["2024-02-29", "2024-13-01", "2024-1-01"],
    "time": ["10:20:30Z", "23:59:60.123+05:30", "24:00:00Z", "10:20:30"],
    "date-time": ["2024-01-01T10:00:00Z", "2024-01-01t10:00:00Z"],
    "duration": ["P3Y6M4DT12H30M5S", "PT5S", "P2W", "P1Y2W", "PT", "P", "P1M4D", "PT1H5S", "P1DT"],
    "ipv4": ["192.168.0.1", "256.0.0.1", "1.2.3"],
    "ipv6": ["2001:db8::1", "::1", "::", "fe80::1:2:3:4", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", "::ffff:10.0.0.1",
             "1::2::3", "abcd:ef01:2345:6789:abcd:ef01:2345:6789", "12345::", "1:2:3:4::192.168.1.1", ":1"],
    "hostname": ["example.com", "a-b.c", "-a.com", "EXAMPLE.com"],
    "uuid": ["123e4567-e89b-12d3-a456-426614174000", "123e4567e89b12d3a456426614174000"],
    "uri": ["https://example.com/a/b?c=d#e", "mailto:a@b.com", "urn:isbn:0451450523", "http://[::1]/", "ftp://u:p@h:21/x",
            "a:", "1http://x", "http://x/%zz", "http://x/a%20b", "file:///etc/hosts", "s+v.-x:/p"],
    "uri-reference": ["/a/b?c#d", "//host/p", "a/b", "?q", "#f", "", "a:b", "%41b", "http://x"],
    "uri-template": ["http://x/{id}", "/s{?q,lang}", "{+path:6}/x", "{a*}", "{}", "{a", "x{#a.b}"],
    "json-pointer": ["", "/a/b", "/a~1b", "/a~0", "/a~2", "a", "/é", "/x y", "/a\\\"b"],
    "relative-json-pointer": ["0", "1/a", "2#", "01", "0/a~1", "#", "3/"],
}

def mutations(text):
    alphabet = "aZ09.-:/@%~#?[]{}+_ \\\""
    out = set()
    for _ in range(12):
        t = list(text)
        op = rng.choice(["insert", "delete", "replace"]) if t else "insert"
        i = rng.randrange(len(t) + (op == "insert"))
        if op == "insert": t.insert(i, rng.choice(alphabet))
        elif op == "delete": del t[i]
        else: t[i] = rng.choice(alphabet)
        out.add("".join(t))
    return out

formats = []
for name, examples in format_examples.items():
    grammar = xgr.Grammar.from_json_schema(json.dumps({"type": "string", "format": name}))
    texts = set(examples)
    for example in examples:
        texts |= mutations(example)
    formats.append({"format": name, "cases": [['"' + t + '"', _is_grammar_accept_string(grammar, '"' + t + '"')]
                                              for t in sorted(texts)]})
json.dump({"numbers": numbers, "formats": formats}, open(os.path.join(out, "numeric_formats.json"), "w"),
          ensure_ascii=False, indent=0)
print("wrote", out)
