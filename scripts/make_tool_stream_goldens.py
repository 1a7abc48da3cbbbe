"""Goldens for tool-call parsing, whole and streamed, from vLLM 0.26.0's own parser code
(Tests/VLLMServerTests/Goldens/tool_stream_*.json).

What runs: the .py files of the vLLM 0.26.0 wheel, read from the wheel and executed unchanged —
vllm/tool_parsers/{abstract_tool_parser,utils,streaming,hermes_tool_parser,llama_tool_parser,mistral_tool_parser}.py,
vllm/parser/{abstract_parser,mistral}.py (DelegatingParser.parse / parse_delta with finalize_generation), and
vllm/entrypoints/openai/engine/protocol.py (DeltaMessage, DeltaToolCall, … as the server serializes them) —
with the third-party libraries vLLM pins them to (partial_json_parser, ijson with its yajl2_c backend, regex,
pydantic). The rest of vllm.* they import is stubbed with the few names they use: the logger, the chat-request
classes (ChatCompletionRequest as a plain object with the fields read, ChatCompletionNamedToolChoiceParam,
ChatCompletionToolsParam), make_tool_call_id, vllm.envs, the mistral_common classes used only with a Mistral
tokenizer (never here: the server has Hugging Face tokenizers), and a fake tokenizer whose get_vocab() holds the
special tokens each parser looks up (`[ARGS]` present or not picks the Mistral v11+ or pre-v11 format, as vLLM
picks it).

What it records, for recorded-style model texts (Hermes/Qwen `<tool_call>`, Llama 3 JSON, Mistral v11+ and
pre-v11, and tool_choice "required" arrays and named functions through the standard paths): the whole answer as
the server builds it from `Parser.parse` (content, calls, finish_reason), and, for several cuttings of the text
into deltas (1 character; 2, 3, 5 and 7; a mix of 2-7; a token-like split with special tokens whole; the last two
also with an empty last delta, as an EOS token gives), every chunk the server's stream loop
(chat_completion_stream_generator) would send: each `parse_delta(..., finished=last)` that is not None (at the end
an empty delta), serialized as vLLM serializes it (`model_dump(exclude_unset=True)`), with a tool call's random id
replaced by its form ("chatcmpl-tool" or "alnum9"), and the stream's finish_reason. `parallel_tool_calls` is not
varied (the filter is the server's, not the parser's).

  python3 scripts/make_tool_stream_goldens.py [--wheel PATH/vllm-0.26.0-…whl]

Without --wheel it looks in /tmp/vllm_dl and else runs `pip download vllm==0.26.0 --no-deps -d /tmp/vllm_dl`. Needs
`pip install partial-json-parser ijson regex pydantic`.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import types
import zipfile

# ---------------------------------------------------------------------------------------------------------------
# Loading vLLM's files from the wheel, with stubs for what they import.


def module(name, **attrs):
    """A stub module (a package, so that submodules can be placed under it)."""
    m = sys.modules.get(name)
    if m is None:
        m = types.ModuleType(name)
        m.__path__ = []
        sys.modules[name] = m
        if "." in name:
            parent, _, leaf = name.rpartition(".")
            setattr(module(parent), leaf, m)
    m.__dict__.update(attrs)
    return m


def load_from_wheel(wheel, name):
    """Executes vllm/<name>.py from the wheel as module `name`, unchanged."""
    path = name.replace(".", "/") + ".py"
    source = wheel.read(path).decode()
    m = types.ModuleType(name)
    m.__file__ = f"{wheel.filename}!{path}"
    sys.modules[name] = m
    parent, _, leaf = name.rpartition(".")
    setattr(module(parent), leaf, m)
    exec(compile(source, m.__file__, "exec"), m.__dict__)
    return m


def install_vllm(wheel_path):
    import logging

    wheel = zipfile.ZipFile(wheel_path)
    # Stubs: only the names the loaded files use.
    module("vllm.logger", init_logger=lambda name: logging.getLogger(name))
    logging.getLogger("vllm").setLevel(logging.CRITICAL)  # the parsers log the broken texts on purpose
    module("vllm.envs", VLLM_ENFORCE_STRICT_TOOL_CALLING=False, VLLM_TOOL_PARSE_REGEX_TIMEOUT_SECONDS=1)
    module("vllm.config.utils", replace=lambda obj, **kw: obj)
    module("vllm.exceptions", VLLMValidationError=type("VLLMValidationError", (ValueError,), {}))
    module("vllm.utils", random_uuid=lambda: os.urandom(16).hex())
    module("vllm.utils.import_utils", resolve_obj_by_qualname=None, import_from_path=None)
    module("vllm.utils.collection_utils", is_list_of=lambda v, t: isinstance(v, list) and all(isinstance(x, t) for x in v))
    module("vllm.utils.mistral", is_mistral_tokenizer=lambda tokenizer: False,  # Hugging Face tokenizers only
           is_mistral_tool_parser=lambda cls: bool(getattr(cls, "IS_MISTRAL_TOOL_PARSER", False)))
    module("vllm.sampling_params", StructuredOutputsParams=type("StructuredOutputsParams", (), {}))
    module("vllm.tokenizers", TokenizerLike=object)
    module("transformers", PreTrainedTokenizerBase=object)  # a type hint only
    module("vllm.entrypoints.chat_utils",
           make_tool_call_id=lambda id_type="random", func_name=None, idx=None: (
               f"functions.{func_name}:{idx}" if id_type == "kimi_k2" else f"chatcmpl-tool-{os.urandom(16).hex()}"),
           get_tool_call_id_type=lambda model_config: "random")
    module("vllm.parser.metrics", record_tool_parser_invocation=lambda **kw: None)
    module("vllm.parser.utils", count_history_tool_calls=lambda request: 0)
    module("vllm.reasoning.abs_reasoning_parsers", ReasoningParser=type("ReasoningParser", (), {}))
    responses = [type(n, (), {}) for n in ("ResponseFormatTextJSONSchemaConfig", "ResponseTextConfig", "FunctionTool",
                                          "NamespaceTool", "ToolChoiceFunction")]
    module("openai.types.responses", **{c.__name__: c for c in responses})
    module("openai.types.responses.function_tool", FunctionTool=responses[2])
    module("openai.types.responses.tool", Tool=type("Tool", (), {}))
    module("vllm.entrypoints.openai.responses.protocol", ResponsesRequest=type("ResponsesRequest", (), {}))
    module("mistral_common.protocol.instruct.tool_calls",
           **{n: type(n, (), {}) for n in ("NamedToolChoice", "Tool", "ToolChoice", "ToolChoiceEnum")})
    # The real response classes (DeltaMessage, DeltaToolCall, …), then chat-request stand-ins.
    protocol = load_from_wheel(wheel, "vllm.entrypoints.openai.engine.protocol")

    class ChatCompletionToolsParam(protocol.OpenAIBaseModel):
        type: str = "function"
        function: protocol.FunctionDefinition

    class ChatCompletionNamedFunction(protocol.OpenAIBaseModel):
        name: str

    class ChatCompletionNamedToolChoiceParam(protocol.OpenAIBaseModel):
        function: ChatCompletionNamedFunction
        type: str = "function"

    class ChatCompletionRequest:
        """The fields of vLLM's request the parsers read."""

        def __init__(self, tools, tool_choice):
            self.tools = [ChatCompletionToolsParam(function={"name": t["name"], "parameters": t["parameters"]})
                          for t in tools]
            self.tool_choice = (ChatCompletionNamedToolChoiceParam(function={"name": tool_choice["name"]})
                                if isinstance(tool_choice, dict) else tool_choice)
            self.include_reasoning = True
            self.parallel_tool_calls = None
            self.messages = []
            self.structured_outputs = None
            self.response_format = None
            self.skip_special_tokens = True

    module("vllm.entrypoints.openai.chat_completion.protocol", ChatCompletionRequest=ChatCompletionRequest,
           ChatCompletionToolsParam=ChatCompletionToolsParam,
           ChatCompletionNamedToolChoiceParam=ChatCompletionNamedToolChoiceParam)
    for name in ("utils", "abstract_tool_parser", "streaming", "hermes_tool_parser", "llama_tool_parser",
                 "mistral_tool_parser"):
        load_from_wheel(wheel, f"vllm.tool_parsers.{name}")
    load_from_wheel(wheel, "vllm.parser.abstract_parser")
    load_from_wheel(wheel, "vllm.parser.mistral")
    return ChatCompletionRequest


def find_wheel(path):
    if path:
        return path
    found = glob.glob("/tmp/vllm_dl/vllm-0.26.0-*.whl")
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "vllm==0.26.0", "--no-deps", "-d", "/tmp/vllm_dl"],
                       check=True)
        found = glob.glob("/tmp/vllm_dl/vllm-0.26.0-*.whl")
    return found[0]


# ---------------------------------------------------------------------------------------------------------------
# The model texts. Each: the parser, tool_choice ("auto", "required" or {"name": …}), the text, how the engine
# finished it.

WEATHER = {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}}
TOOLS = [{"name": "get_weather", "parameters": WEATHER},
         {"name": "get_time", "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}}}]

HERMES = [
    "Just text, no tools.",
    '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Zürich", "days": 3}}\n</tool_call>',
    'Let me look that up.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "unit": "c"}}\n</tool_call>',
    '<tool_call>{"name": "a", "arguments": {}}</tool_call>\n<tool_call>{"name": "b", "arguments": {"x": [1, 2.5, null], '
    '"y": {"z": true}}}</tool_call>',
    '<tool_call>\n{"name": "get_time", "arguments": {"tz": "UTC"}}',
    '<tool_call>\n{"name": "get_time", "arguments": {"tz": "UT',
    '<tool_call>\n{"name": "broken", "arguments": {"city": }\n</tool_call>',
    'Text <tool_call>{"name": "n", "arguments": {"q": "a \\"quoted\\" word", "e": "é✓ 😀", "f": 1.0, "g": 1e20}}'
    '</tool_call> trailing',
    "<tool_call><tool_call>",
    '<tool_call>{"arguments": {}}</tool_call>',
    '<tool_call>{"arguments": {"a": 1}, "name": "f"}</tool_call>',
    '<tool_call>\n{"name": "run", "arguments": {"code": "if x { return \\"}\\" }", "n": [{"k": {}}]}}\n</tool_call>',
    '<tool_call>{"name": "we\\"ird", "arguments": {}}</tool_call>',
    'a < b <tool_ and <tool_call>{"name": "f", "arguments": {"x": 1}}</tool_call>',
    'A<tool_call>{"name": "f", "arguments": {"x": 1}}</tool_call> mid <tool_call>{"name": "g", "arguments": {"y": 2}}'
    '</tool_call>',
    '<tool_call>{"name": "f", "arguments": "{\\"x\\": 1}"}</tool_call>',
    '<tool_call>\n{\n  "name": "get_weather",\n  "arguments": {\n    "city": "Berlin"\n  }\n}\n</tool_call>',
    '<tool_call>{"name": "f", "arguments": {"big": 123456789012345678901234567890, "small": 1.5e-7, "neg": -0.0, '
    '"i": 10, "t": "tab\\there"}}</tool_call>',
    '<tool_call>{"name": "f", "arguments": {"s": "line\nbreak"}}</tool_call>',
    '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Rome"}}\n</tool_call>\n<tool_call>\n{"name": "get_time", '
    '"arguments": {"tz": "CET"}}\n</tool_call>',
]

LLAMA = [
    "No tools here.",
    '{"name": "get_weather", "parameters": {"city": "Zürich", "days": 3}}',
    '<|python_tag|>{"name": "get_weather", "parameters": {"city": "Paris"}}',
    '{"name": "a", "parameters": {}}; {"name": "b", "arguments": {"x": [1, {"y": 2.5}]}}',
    '{"name": "a", "parameters": {"n": {"deep": true}}}{"name": "b", "parameters": {}}',
    'Sure! {"name": "c", "parameters": {"q": "é"}} done',
    '{"name": "broken", "parameters": {',
    '{"parameters": {}}',
    "I like {curly} braces",
    '{"name": 5, "parameters": {}}',
    '{"name": "f", "parameters": {"x": 1.50, "y": 1e3, "s": "a\\"b\\n"}}',
    '{"name": "get_weather", "parameters": {"city": "San Francisco", "unit": "fahrenheit"}}; {"name": "get_time", '
    '"parameters": {"tz": "PST"}}',
    '{"name": "f", "parameters": {"q": "unterminated',
    '{"name": "f", "parameters": {"e": "😀✓", "n": null, "b": false, "l": [true, -2]}}',
    '<|python_tag|>{"name": "get_time", "arguments": {"tz": "UTC"}}',
]

MISTRAL_V11 = [
    "Hello there.",
    '[TOOL_CALLS]get_weather{"city": "Zürich", "days": 3}',
    'Sure.[TOOL_CALLS]get_weather[ARGS]{"city": "Paris"}',
    '[TOOL_CALLS]a{}[TOOL_CALLS]b{"x": [1, {"y": 2.5}]}',
    '[TOOL_CALLS]broken{"city": ',
    "[TOOL_CALLS]noargs",
    '[TOOL_CALLS]f{"s": "a\\"b", "e": "é😀"} trailing',
    'Text [TOOL_CALLS]get_time{"tz": "UTC"}[TOOL_CALLS]get_weather{"city": "Oslo"}',
    '  [TOOL_CALLS]f{"n": {"m": {}}}',
    '[TOOL_CALLS]get_weather[ARGS]{"city": "Lyon", "days": 2}[TOOL_CALLS]get_time[ARGS]{}',
]

MISTRAL_PRE_V11 = [
    "Plain answer.",
    '[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Zürich", "days": 3}}]',
    '[TOOL_CALLS][{"name": "a", "arguments": {}}, {"name": "b", "arguments": {"x": [1, {"y": 2.5}]}}]',
    'Let me check.[TOOL_CALLS] [{"name": "get_time", "arguments": {"tz": "UTC"}}]',
    '[TOOL_CALLS] [{"name": "f", "arguments": {"s": "a\\"b}", "e": "é😀"}}] trailing',
    '[TOOL_CALLS] [{"name": "broken", "arguments": {"city": }}]',
    '[TOOL_CALLS] [{"name": "get_time", "arguments": {"tz": "UT',
    '[TOOL_CALLS] [{"arguments": {"a": 1}, "name": "f"}]',
    '[TOOL_CALLS] [{"name": "f"}]',
    '[TOOL_CALLS] [{"name": "a", "arguments": {}}][TOOL_CALLS] [{"name": "b", "arguments": {}}]',
    '[TOOL_CALLS] [{"name": "f", "arguments": {"n": 1.50, "m": 2, "deep": {"k": [{}]}}}]',
    '[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Oslo"}}, {"name": "get_time", "arguments": {}}]',
    "[TOOL_CALLS] {}",
    '[TOOL_CALLS] ""',
    '[TOOL_CALLS] {"name": "f", "arguments": {}}',
]

REQUIRED = [
    '[{"name": "get_weather", "parameters": {"city": "Zürich", "days": 3}}]',
    '[{"name": "get_weather", "parameters": {"city": "Paris", "days": 1}}, {"name": "get_time", "parameters": {}}]',
    '[{"name":"get_time","parameters":{"tz":"UTC"}},{"name":"get_weather","parameters":{"city":"a\\"b}","days":2}}]',
    '[\n  {\n    "name": "get_weather",\n    "parameters": {"city": "Oslo", "days": 7}\n  }\n]',
    '[{"name": "get_time", "parameters": {"tz": {"b": [1, {"c": "é😀"}]}, "n": 1.50}}]',
    '[{"name": "get_weather", "parameters": {"city": "Ber',
    '[{"name": "get_weather", "parameters": {"city": "Rome", "days": 2}} , {"name": "get_time", "parameters": {"tz": "CET"}}]',
]

NAMED = [
    '{"city": "Zürich", "days": 3}',
    '{\n  "city": "Oslo"\n}',
    "  ",
    '{"city": "a\\"b😀", "days": 2}',
]

# Brackets nested past Python's recursion limit (1,000 frames; json.loads takes one a level, partial_json_parser's
# completers two): vLLM's parsers catch the RecursionError, or its stream ends with the error, and the server must
# not run out of stack. Each run of brackets is one token-like piece, so a stream goes from shallow to past every
# limit in one delta (a gradual cutting would find where each side's stack gives out, which is not behaviour).
DEEP = 1200
DEEP_TEXTS = {
    "hermes": [
        '<tool_call>{"name": "f", "arguments": {"x": ' + "[" * DEEP + "</tool_call>",
        '<tool_call>{"name": "f", "arguments": {"x": ' + "[" * DEEP,
        '<tool_call>{"name": "f", "arguments": {"x": ' + "[" * DEEP + " " + "]" * DEEP + "}}</tool_call>",
    ],
    "llama3_json": [
        '{"name": "f", "parameters": ' + "[" * DEEP,
        '{"name": "f", "parameters": {"x": 1}}; {"name": "g", "parameters": {"a": ' + "[" * DEEP,
    ],
    "mistral_v11": ['[TOOL_CALLS]f{"a": ' + "[" * DEEP],
    "mistral_pre_v11": ['[TOOL_CALLS] [{"name": "f", "arguments": {"a": ' + "[" * DEEP],
    "required": ['[{"name": "get_weather", "parameters": {"city": ' + "[" * DEEP],
}
DEEP_CHUNKINGS = ["tokens", "tokens+eos"]


def cases():
    for text in HERMES:
        yield {"parser": "hermes", "tool_choice": "auto", "text": text}
    for text in LLAMA:
        yield {"parser": "llama3_json", "tool_choice": "auto", "text": text}
    for text in MISTRAL_V11:
        yield {"parser": "mistral", "tokenizer": "v11", "tool_choice": "auto", "text": text}
    for text in MISTRAL_PRE_V11:
        yield {"parser": "mistral", "tokenizer": "pre_v11", "tool_choice": "auto", "text": text}
    for parser in ("hermes", "mistral"):
        for text in REQUIRED if parser == "hermes" else REQUIRED[:2]:
            finish = "length" if text.endswith('"Ber') else "stop"
            yield {"parser": parser, "tool_choice": "required", "text": text, "finish_reason": finish}
        for text in NAMED if parser == "hermes" else NAMED[:1]:
            yield {"parser": parser, "tool_choice": {"name": "get_weather"}, "text": text}
    for key, texts in DEEP_TEXTS.items():
        for text in texts:
            case = {"tool_choice": "auto", "text": text, "chunkings": DEEP_CHUNKINGS}
            if key == "required":
                case.update(parser="hermes", tool_choice="required", finish_reason="length")
            elif key.startswith("mistral"):
                case.update(parser="mistral", tokenizer=key.removeprefix("mistral_"))
            else:
                case["parser"] = key
            yield case


# ---------------------------------------------------------------------------------------------------------------
# Cutting a text into deltas (lengths in code points, as Python counts them).

SPECIAL = ["<tool_call>", "</tool_call>", "<|python_tag|>", "[TOOL_CALLS]", "[ARGS]"]


def token_like(text):
    """A BPE-like split (GPT-2's pre-tokenizer pattern) with the special tokens whole."""
    import regex

    special = "|".join(regex.escape(s) for s in SPECIAL)
    pattern = regex.compile(special + r"""|'s|'t| ?\p{L}+| ?\p{N}{1,3}| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")
    pieces = pattern.findall(text)
    assert "".join(pieces) == text
    return [len(p) for p in pieces]


def chunkings(text):
    n = len(text)

    def sized(size):
        return [min(size, n - i) for i in range(0, n, size)]

    mixed, i, k = [], 0, 0
    while i < n:
        size = min([2, 5, 3, 7, 4, 6][k % 6], n - i)
        mixed.append(size)
        i, k = i + size, k + 1
    result = {f"chars{size}": sized(size) for size in (1, 2, 3, 5, 7)}
    result["mixed"] = mixed
    result["tokens"] = token_like(text)
    # An empty last delta: the EOS token's, whose text the detokenizer drops.
    result["chars1+eos"] = sized(1) + [0]
    result["tokens+eos"] = token_like(text) + [0]
    return result


# ---------------------------------------------------------------------------------------------------------------
# Running vLLM's parsers as the chat server does.


class FakeTokenizer:
    def __init__(self, vocab):
        self.vocab = vocab

    def get_vocab(self):
        return self.vocab


def vocab_for(case):
    vocab = {"<tool_call>": 10, "</tool_call>": 11, "<|python_tag|>": 12, "[TOOL_CALLS]": 13}
    if case.get("tokenizer") != "pre_v11":
        vocab["[ARGS]"] = 14
    return vocab


def parser_class(name):
    from vllm.parser.abstract_parser import DelegatingParser
    from vllm.parser.mistral import MistralParser
    from vllm.tool_parsers.hermes_tool_parser import Hermes2ProToolParser
    from vllm.tool_parsers.llama_tool_parser import Llama3JsonToolParser
    from vllm.tool_parsers.mistral_tool_parser import MistralToolParser

    if name == "mistral":  # vllm.parser.parser_manager.ParserManager.get_parser's choice
        MistralParser.tool_parser_cls = MistralToolParser
        MistralParser.reasoning_parser_cls = None
        return MistralParser
    tool_parser = {"hermes": Hermes2ProToolParser, "llama3_json": Llama3JsonToolParser}[name]

    class _Parser(DelegatingParser):
        reasoning_parser_cls = None
        tool_parser_cls = tool_parser

    return _Parser


def id_form(value):
    if value is None:
        return None
    if value.startswith("chatcmpl-tool-"):
        return "chatcmpl-tool"
    if len(value) == 9 and value.isalnum() and value.isascii():
        return "alnum9"
    return "other:" + value


def whole(case, request_class):
    """chat_completion_full_generator's message for the text: parser.parse, then the branches on tool_choice."""
    request = request_class(TOOLS, case["tool_choice"])
    tokenizer = FakeTokenizer(vocab_for(case))
    parser = parser_class(case["parser"])(tokenizer, request.tools)
    finish = case.get("finish_reason", "stop")
    try:
        _, content, tool_calls = parser.parse(case["text"], request, enable_auto_tools=True)
    except Exception as e:  # noqa: BLE001 — the server answers it as an error (create_error_response)
        return {"error": type(e).__name__, "message": str(e)}
    named = isinstance(case["tool_choice"], dict)
    if named or case["tool_choice"] == "required":
        content = content or ""
        calls = tool_calls or []
        tools_called = case["tool_choice"] == "required" and finish == "stop"
    else:
        calls = tool_calls or []
        tools_called = len(calls) > 0
    return {
        "content": content,
        "calls": [{"id": id_form(c.id or "chatcmpl-tool-x"), "name": c.name, "arguments": c.arguments} for c in calls],
        "finish_reason": "tool_calls" if tools_called else finish,
    }


def stream(case, lengths, request_class):
    """chat_completion_stream_generator's chunks for the text cut as `lengths` says: [step, delta] for each."""
    request = request_class(TOOLS, case["tool_choice"])
    vocab = vocab_for(case)
    parser = parser_class(case["parser"])(FakeTokenizer(vocab), request.tools)
    text, start, chunks, tools_streamed = case["text"], 0, [], False
    for step, length in enumerate(lengths):
        piece = text[start:start + length]
        start += length
        finished = step == len(lengths) - 1
        ids = [vocab[s] for s in SPECIAL if s in vocab and piece == s] or [1]
        try:
            delta = parser.parse_delta(piece, ids, request, prompt_token_ids=[1], finished=finished)
        except Exception as e:  # noqa: BLE001 — the stream generator sends it as an error event and ends
            return {"chunks": chunks, "error": {"step": step, "type": type(e).__name__}}
        if delta is not None and delta.tool_calls:
            tools_streamed = True
        if delta is None:
            if not finished:
                continue
            delta = sys.modules["vllm.entrypoints.openai.engine.protocol"].DeltaMessage()
        dumped = delta.model_dump(exclude_unset=True)
        for call in dumped.get("tool_calls", []):
            if "id" in call:
                call["id"] = id_form(call["id"])
        chunks.append([step, dumped])
    named = isinstance(case["tool_choice"], dict)
    finish = "tool_calls" if tools_streamed and not named else case.get("finish_reason", "stop")
    return {"chunks": chunks, "finish_reason": finish}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--wheel")
    args = parser.parse_args()
    request_class = install_vllm(find_wheel(args.wheel))
    files = {}
    for case in cases():
        record = {key: value for key, value in case.items() if key != "chunkings"}
        record["whole"] = whole(case, request_class)
        record["streams"] = []
        for name, lengths in chunkings(case["text"]).items():
            if name not in case.get("chunkings", [name]):
                continue
            record["streams"].append({"chunking": name, "lengths": lengths, **stream(case, lengths, request_class)})
        key = "required_named" if case["tool_choice"] != "auto" else case["parser"]
        files.setdefault(key, []).append(record)
    folder = os.path.join(os.path.dirname(__file__), "..", "Tests", "VLLMServerTests", "Goldens")
    for key, records in files.items():
        path = os.path.join(folder, f"tool_stream_{key}.json")
        with open(path, "w") as f:
            json.dump(records, f, ensure_ascii=False, separators=(",", ":"))
            f.write("\n")
        print(f"wrote {path}: {len(records)} texts")


if __name__ == "__main__":
    main()
