"""Goldens for `--reasoning-parser qwen3 | deepseek_r1` (Tests/VLLMServerTests/Goldens/reasoning.json), from
vLLM 0.26.0's own code.

What runs: vLLM's files, read out of the 0.26.0 wheel (or an unpacked copy) and executed as the modules they
are, with stand-ins only for the imports they need from the rest of vLLM (logger, protocol classes as plain
dataclasses, tool-parser helpers that the reasoning path never calls):

  vllm/parser/engine/{events,incremental_lexer,token_id_scanner,parser_engine_config,
                      streaming_parser_engine,parser_engine,adapters}.py    the parser engine
  vllm/parser/qwen3.py                        Qwen3Parser (the engine's qwen3 config)
  vllm/parser/abstract_parser.py              DelegatingParser: what the chat server drives (parse, parse_delta)
  vllm/reasoning/{abs_reasoning_parsers,basic_parsers,deepseek_r1_reasoning_parser}.py

`--reasoning-parser qwen3` is `Qwen3ParserReasoningAdapter` (vllm/reasoning/qwen3_engine_reasoning_parser.py →
registered_adapters.py: `make_adapters(Qwen3Parser)`); it is built here the same way, by `make_adapters`
(registered_adapters.py itself would import every other model's parser). The server composes it as
ParserManager.get_parser does — a DelegatingParser subclass with `reasoning_parser_cls` set — and creates
one per request with `chat_template_kwargs` (so `enable_thinking`), as serving.py does.

Tokenizers (fakes): "tags" has `<think>`, `</think>`, `<tool_call>`, `</tool_call>` as single tokens (Qwen3's
ids) and every other character a token of its own (id 200000 + code point); "plain" has only the characters
(a vocabulary without the tags: the tags are then found in the text). Neither has other special tokens (so
nothing is dropped or held back as a special token of the model's).

For each model output: the whole answer (`DelegatingParser.parse`, non-streaming) and the streamed deltas
(`parse_delta`, one call per delta, `finished` on the last, `prompt_token_ids` given), for several
chunkings — "tags" tokenizer: k tokens per delta (k = 1, 2, 3, 5, 7) and word-like pieces; "plain"
tokenizer: k characters per delta (k = 1…7, a tag may be cut anywhere) — after a prompt where reasoning is
still open (`…<|im_start|>assistant\n`) and, one token or piece per delta, one that closed it (ending
`<think>\n\n</think>\n\n`, Qwen3's template with thinking off); qwen3 with and without
`chat_template_kwargs: {"enable_thinking": false}`.

A delta is written null (none), "content", ["reasoning"] or ["reasoning", "content"]; `whole` is
[reasoning, content]. Each stream's `deltas` are what vLLM's server sends under `--reasoning-parser` alone.
Where the reasoning ends inside a delta, the qwen3 engine may still hold text it read after the end (blank
content it defers, a `<` that may start a tag): parse_delta flushes it (`finish_streaming()`) but hands it
only to a tool-call parser, so without one it is lost. `dropped` lists that text by delta index (what the
same stream gives a pass-through tool-call parser beyond `deltas`' content; nothing else differs): ours keeps
it, in that delta's content — the departure the tests check.

`reasoning_end`: per parser, vLLM's `is_reasoning_end` on the token sequences `sequences`, and where a
structured output's grammar starts on each of `grammar_outputs` after each prompt (see below).

  pip download vllm==0.26.0 --no-deps -d /tmp/vllm_dl
  python3 scripts/make_reasoning_goldens.py [/tmp/vllm_dl/vllm-0.26.0-….whl | /tmp/vllm_src]

Needs only `regex` beside Python 3.10+.
"""
import dataclasses, glob, json, logging, os, re, sys, types, zipfile

# ── vLLM's files ─────────────────────────────────────────────────────────────────────────────────────────────

source = sys.argv[1] if len(sys.argv) > 1 else (glob.glob("/tmp/vllm_dl/vllm-0.26.0-*.whl") or ["/tmp/vllm_src"])[0]
if source.endswith(".whl"):
    wheel = zipfile.ZipFile(source)
    read_source = lambda path: wheel.read(path).decode()
    assert any(n.startswith("vllm-0.26.0.dist-info/") for n in wheel.namelist()), "not vLLM 0.26.0's wheel"
else:
    read_source = lambda path: open(os.path.join(source, path)).read()


def package(name):
    module = types.ModuleType(name)
    module.__path__ = []
    sys.modules[name] = module
    return module


def stub(name, **attributes):
    module = types.ModuleType(name)
    module.__dict__.update(attributes)
    sys.modules[name] = module
    return module


def load(name):
    path = name.replace(".", "/") + ".py"
    module = types.ModuleType(name)
    module.__file__ = path
    sys.modules[name] = module
    exec(compile(read_source(path), path, "exec"), module.__dict__)
    return module


for name in ["vllm", "vllm.entrypoints", "vllm.entrypoints.openai", "vllm.entrypoints.openai.engine",
             "vllm.entrypoints.openai.chat_completion", "vllm.entrypoints.openai.responses", "vllm.entrypoints.mcp",
             "vllm.parser", "vllm.parser.engine", "vllm.reasoning", "vllm.tool_parsers", "vllm.utils", "openai",
             "openai.types"]:
    package(name)


@dataclasses.dataclass
class DeltaMessage:  # vllm/entrypoints/openai/engine/protocol.py's fields and defaults
    role: str | None = None
    content: str | None = None
    reasoning: str | None = None
    tool_calls: list = dataclasses.field(default_factory=list)


class Unused:
    def __init__(self, *args, **kwargs):
        raise AssertionError("not on the reasoning path")


stub("vllm.logger", init_logger=logging.getLogger)
stub("vllm.entrypoints.chat_utils", get_tool_call_id_type=lambda config: "random",
     make_tool_call_id=lambda **kwargs: "call_0")
stub("vllm.entrypoints.openai.engine.protocol", DeltaMessage=DeltaMessage, DeltaFunctionCall=Unused,
     DeltaToolCall=Unused, ExtractedToolCallInformation=Unused, FunctionCall=Unused, ToolCall=Unused,
     FunctionDefinition=Unused)
stub("vllm.entrypoints.openai.chat_completion.protocol", ChatCompletionRequest=type("ChatCompletionRequest", (), {}),
     ChatCompletionNamedToolChoiceParam=type("ChatCompletionNamedToolChoiceParam", (), {}))
stub("vllm.entrypoints.openai.responses.protocol", ResponsesRequest=type("ResponsesRequest", (), {}))
stub("openai.types.responses", ToolChoiceFunction=type("ToolChoiceFunction", (), {}))
stub("vllm.entrypoints.mcp.tool_server", ToolServer=object)
stub("vllm.utils.collection_utils", is_list_of=lambda *a, **k: False)
stub("vllm.utils.import_utils", import_from_path=Unused)
stub("vllm.parser.metrics", record_tool_parser_invocation=lambda **kwargs: None)
stub("vllm.parser.utils", count_history_tool_calls=lambda request: 0)
stub("vllm.sampling_params", StructuredOutputsParams=Unused)
stub("vllm.tokenizers", TokenizerLike=object)
stub("vllm.tool_parsers.utils", coerce_to_schema_type=Unused, extract_types_from_schema=Unused,
     find_tool_name=Unused, find_tool_properties=Unused, Tool=object)
stub("vllm.tool_parsers.streaming", extract_named_tool_call_streaming=Unused,
     extract_required_tool_call_streaming=Unused)


class ToolParser:  # vllm/tool_parsers/abstract_tool_parser.py's interface, as DelegatingParser uses it
    engine_based_streaming = False
    supports_required_and_named = True

    def __init__(self, tokenizer, tools=None):
        self.model_tokenizer = tokenizer


stub("vllm.tool_parsers.abstract_tool_parser", ToolParser=ToolParser, Tool=object)

for name in ["vllm.parser.engine.events", "vllm.parser.engine.incremental_lexer", "vllm.parser.engine.token_id_scanner",
             "vllm.parser.engine.parser_engine_config", "vllm.parser.engine.streaming_parser_engine",
             "vllm.reasoning.abs_reasoning_parsers", "vllm.parser.abstract_parser", "vllm.parser.engine.parser_engine",
             "vllm.parser.engine.adapters", "vllm.parser.qwen3", "vllm.reasoning.basic_parsers",
             "vllm.reasoning.deepseek_r1_reasoning_parser"]:
    load(name)

DelegatingParser = sys.modules["vllm.parser.abstract_parser"].DelegatingParser
Qwen3ReasoningAdapter, _ = sys.modules["vllm.parser.engine.adapters"].make_adapters(sys.modules["vllm.parser.qwen3"].Qwen3Parser)
REASONING_PARSERS = {"qwen3": Qwen3ReasoningAdapter,
                     "deepseek_r1": sys.modules["vllm.reasoning.deepseek_r1_reasoning_parser"].DeepSeekR1ReasoningParser}


class PassThroughToolParser(ToolParser):
    """A tool-call parser that finds no calls: each delta it gets comes back as content."""

    def extract_tool_calls_streaming(self, previous_text, current_text, delta_text, *ids, request=None):
        return DeltaMessage(content=delta_text) if delta_text else None


def parser_class(name, tool_phase):
    class _Parser(DelegatingParser):  # ParserManager.get_parser's composition
        reasoning_parser_cls = REASONING_PARSERS[name]
        tool_parser_cls = PassThroughToolParser if tool_phase else None
    return _Parser


# ── Tokenizers ───────────────────────────────────────────────────────────────────────────────────────────────

TAGS = {"<think>": 151667, "</think>": 151668, "<tool_call>": 151657, "</tool_call>": 151658}
TAG_RE = re.compile("|".join(re.escape(t) for t in TAGS))


class FakeTokenizer:
    def __init__(self, with_tags):
        self.tags = dict(TAGS) if with_tags else {}
        self.all_special_tokens, self.all_special_ids = [], []

    def get_vocab(self):
        return dict(self.tags)

    def tokens(self, text):  # [(text, id)]
        out, at = [], 0
        for m in (TAG_RE.finditer(text) if self.tags else []):
            out += [(c, 200000 + ord(c)) for c in text[at:m.start()]] + [(m.group(), self.tags[m.group()])]
            at = m.end()
        return out + [(c, 200000 + ord(c)) for c in text[at:]]

    def decode(self, ids, skip_special_tokens=False):
        names = {v: k for k, v in self.tags.items()}
        return "".join(names.get(i) or chr(i - 200000) for i in ids)


class Request:  # the fields of ChatCompletionRequest the parsers read
    include_reasoning = True
    tools = None
    tool_choice = None
    skip_special_tokens = True


# ── The runs ─────────────────────────────────────────────────────────────────────────────────────────────────

def whole(name, output, kwargs):
    parser = parser_class(name, False)(FakeTokenizer(True), None, chat_template_kwargs=kwargs)
    reasoning, content, _ = parser.parse(output, Request())
    return [reasoning, content]


def compact(delta):
    """A delta as the golden writes it: null (none), "content", ["reasoning"] or ["reasoning", "content"]."""
    if delta is None:
        return None
    if delta.reasoning is None:
        return delta.content
    return [delta.reasoning] if delta.content is None else [delta.reasoning, delta.content]


def dropped_text(alone, tool_phase):
    """What the tool-phase run has in a delta's content beyond the run without a tool parser (nothing else
    may differ: its reasoning is the same, its content a continuation)."""
    def parts(d):
        return (None, d) if d is None or isinstance(d, str) else (d[0], d[1] if len(d) > 1 else None)
    (r1, c1), (r2, c2) = parts(alone), parts(tool_phase)
    assert r1 == r2 and (c2 or "").startswith(c1 or ""), (alone, tool_phase)
    return (c2 or "")[len(c1 or ""):]


def stream(name, chunks, tokenizer, prompt, kwargs, tool_phase):
    parser = parser_class(name, tool_phase)(tokenizer, None, chat_template_kwargs=kwargs)
    prompt_ids = [i for _, i in tokenizer.tokens(prompt)]
    deltas = []
    for n, chunk in enumerate(chunks):
        ids = [i for _, i in tokenizer.tokens(chunk)]
        d = parser.parse_delta(chunk, ids, Request(), prompt_token_ids=prompt_ids, finished=n == len(chunks) - 1)
        deltas.append(compact(d))
        if d is not None:
            assert not d.tool_calls
    return deltas


WORD_RE = re.compile(r"[^\S\n]?[^\s<>]+|\n+|[^\S\n]+|[<>]")


def words(output):
    """Token-like pieces: tags whole, words with their leading space, runs of newlines."""
    pieces, rest = [], output
    while rest:
        tag = TAG_RE.match(rest)
        piece = tag.group() if tag else WORD_RE.match(rest).group()
        pieces.append(piece)
        rest = rest[len(piece):]
    assert "".join(pieces) == output
    return pieces


def token_groups(output, tokenizer, k):
    tokens = [t for t, _ in tokenizer.tokens(output)]
    return ["".join(tokens[i:i + k]) for i in range(0, len(tokens), k)]


# "open": reasoning is not over at the end of the prompt — no tag, or `<think>\n` last (a template that opens the
# block; the same deltas, checked when this was written). "closed": `</think>` last (Qwen3's template with
# thinking off).
PROMPTS = {"open": "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
           "closed": "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"}

OUTPUTS = [
    "<think>\nLet me add 2 and 2.\n</think>\n\nThe answer is 4.",                      # thinking, then the answer
    "<think>\nStill thinking about <b>it</b> when max_tokens ran out",                 # cut off: no </think>
    "The prompt opened it.\n</think>\n\nSo: 4.",                                        # only </think>
    "Plain answer, no thinking.",                                                      # no tags (thinking off)
    "<think>\nI should call it.\n<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call>",  # call in thinking
    "<think>\nweather?\n</think>\n\n<tool_call>\n{\"name\": \"w\", \"arguments\": {\"city\": \"Zürich\"}}\n</tool_call>",
    "preamble <think>why</think> because",                                             # text before <think>
    "<think>a</think>b</think>c",                                                      # duplicate </think>
    "<think>é✓ 日本語 🙂 a<b</think>\n\nçà 😀 x > y <think> again",                     # unicode, stray tags
    "<think>\n\n</think>\n\n",                                                         # empty thinking, blank answer
    "<think>2 < 3 and <th is not a tag</think>\n\n <",                                  # partial tags, a trailing '<'
]


def cases():
    tags, plain = FakeTokenizer(True), FakeTokenizer(False)
    for output in OUTPUTS:
        for name in ["qwen3", "deepseek_r1"]:
            for thinking in ([True, False] if name == "qwen3" else [True]):
                kwargs = {} if thinking else {"enable_thinking": False}
                case = {"parser": name, "output": output, "chat_template_kwargs": kwargs,
                        "whole": whole(name, output, kwargs), "streams": []}
                chunkings = [("tags", {"tokens": k}, token_groups(output, tags, k)) for k in (1, 2, 3, 5, 7)]
                chunkings.append(("tags", {"pieces": words(output)}, words(output)))
                if name == "qwen3":  # deepseek_r1 refuses a tokenizer without the tags
                    chunkings += [("plain", {"characters": k}, [output[i:i + k] for i in range(0, len(output), k)])
                                  for k in range(1, 8)]
                for vocab, chunking, chunks in chunkings:
                    tokenizer = tags if vocab == "tags" else plain
                    # A closed prompt passes every delta through, however the output is cut.
                    closed = vocab == "tags" and chunking.get("tokens", 1) == 1
                    for prompt in ["open", "closed"] if closed else ["open"]:
                        deltas = stream(name, chunks, tokenizer, PROMPTS[prompt], kwargs, False)
                        entry = {"vocabulary": vocab, "prompt": prompt, **chunking, "deltas": deltas}
                        if name == "qwen3":
                            tool_phase = stream(name, chunks, tokenizer, PROMPTS[prompt], kwargs, True)
                            dropped = {str(i): text for i, (d, t) in enumerate(zip(deltas, tool_phase))
                                       if (text := dropped_text(d, t))}
                            if dropped:
                                entry["dropped"] = dropped
                        case["streams"].append(entry)
                yield case


# Where a structured output starts. The server asks `is_reasoning_end(prompt_token_ids)` (serving.py; true: the
# grammar applies from the first token); the engine's StructuredOutputManager then asks a reasoner of its own
# (`reasoner_cls(tokenizer=…, chat_template_kwargs=…)`) `is_reasoning_end_streaming(prompt + output so far,
# this step's tokens)` after each step, one token a step here: the grammar applies after the token at which
# it first says yes.
SEQUENCES = [[], ["a"], ["<think>"], ["</think>"], ["<think>", "a", "</think>", "b"], ["</think>", "<think>"],
             ["<tool_call>"], ["<tool_call>", "a", "</tool_call>"], ["<think>", "<tool_call>"], ["<tool_call>", "<think>"],
             ["</think>", "<tool_call>", "</tool_call>"], ["<tool_call>", "</tool_call>", "<tool_call>"],
             ["<think>", "<tool_call>", "</tool_call>", "a"], ["<tool_call>", "</think>", "</tool_call>"]]
GRAMMAR_OUTPUTS = [["<think>", "a", "</think>", "{", "}"], ["a", "</think>", "{"], ["<think>", "a", "<tool_call>", "{"],
                   ["a", "<tool_call>", "</tool_call>", "</think>", "{"], ["<think>", "a"], ["{", "}"]]


def reasoning_end_cases():
    tokenizer = FakeTokenizer(True)
    ids = lambda tokens: [i for t in tokens for _, i in tokenizer.tokens(t)]
    for name, kwargs in [("qwen3", {}), ("qwen3", {"enable_thinking": False}), ("deepseek_r1", {})]:
        reasoner = lambda: REASONING_PARSERS[name](tokenizer, chat_template_kwargs=kwargs)
        ends = [reasoner().is_reasoning_end(ids(s)) for s in SEQUENCES]
        starts = []
        for prompt in ["open", "closed"]:
            prompt_ids = [i for _, i in tokenizer.tokens(PROMPTS[prompt])]
            for output in GRAMMAR_OUTPUTS:
                if reasoner().is_reasoning_end(prompt_ids):
                    starts.append(0)
                    continue
                engine_side, start = reasoner(), None
                for t in range(len(output)):
                    if engine_side.is_reasoning_end_streaming(prompt_ids + ids(output[:t + 1]), ids(output[t:t + 1])):
                        start = t + 1
                        break
                starts.append(start)
        yield {"parser": name, "chat_template_kwargs": kwargs, "is_reasoning_end": ends, "grammar_starts_at": starts}


all_cases = list(cases())
golden = {"prompts": PROMPTS, "cases": all_cases, "sequences": SEQUENCES, "grammar_outputs": GRAMMAR_OUTPUTS,
          "reasoning_end": list(reasoning_end_cases())}
path = os.path.join(os.path.dirname(__file__), "..", "Tests", "VLLMServerTests", "Goldens", "reasoning.json")
with open(path, "w") as f:
    f.write("{\n" + ",\n".join(f"{json.dumps(k)}: " + (
        "[\n" + ",\n".join(json.dumps(c, ensure_ascii=False) for c in v) + "\n]" if k == "cases" else
        json.dumps(v, ensure_ascii=False)) for k, v in golden.items()) + "\n}\n")
print("wrote", path, os.path.getsize(path), "bytes;",
      sum(1 for c in all_cases for s in c["streams"] if "dropped" in s), "streams drop text without a tool parser")
