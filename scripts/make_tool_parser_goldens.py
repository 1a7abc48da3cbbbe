"""Goldens for the hermes and llama3_json tool-call parsers (Tests/VLLMServerTests/Goldens/hermes_tool_calls.json,
llama3_json_tool_calls.json; the reasoning parsers' are make_reasoning_goldens.py's). hermes: vLLM 0.26's
`Hermes2ProToolParser.extract_tool_calls` (vllm/tool_parsers/hermes_tool_parser.py), whose steps are Python's
`re.findall` with its regex, `json.loads` of each match and `json.dumps(arguments, ensure_ascii=False)` — run
here with Python's own `re` and `json` on model outputs written for the test.

  python3 scripts/make_tool_parser_goldens.py
"""
import json, os, re

START = "<tool_call>"
REGEX = re.compile(r"<tool_call>(.*?)</tool_call>|<tool_call>(.*)", re.DOTALL)


def extract(output):
    if START not in output:
        return {"tools_called": False, "calls": [], "content": output}
    try:
        raw = [json.loads(m[0] if m[0] else m[1]) for m in REGEX.findall(output)]
        calls = [{"name": c["name"], "arguments": json.dumps(c["arguments"], ensure_ascii=False)} for c in raw]
        content = output[: output.find(START)]
        return {"tools_called": True, "calls": calls, "content": content if content else None}
    except Exception:  # noqa: BLE001 — vLLM logs and falls back to plain content
        return {"tools_called": False, "calls": [], "content": output}


outputs = [
    "Just text, no tools.",
    '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Zürich", "days": 3}}\n</tool_call>',
    'Let me look that up.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "unit": "c"}}\n</tool_call>',
    '<tool_call>{"name": "a", "arguments": {}}</tool_call>\n<tool_call>{"name": "b", "arguments": {"x": [1, 2.5, null], "y": {"z": true}}}</tool_call>',
    '<tool_call>\n{"name": "get_time", "arguments": {"tz": "UTC"}}',
    '<tool_call>\n{"name": "broken", "arguments": {"city": }\n</tool_call>',
    'Text <tool_call>{"name": "n", "arguments": {"q": "a \\"quoted\\" word", "e": "é✓", "f": 1.0, "g": 1e20}}</tool_call> trailing',
    "<tool_call><tool_call>",
    '<tool_call>{"arguments": {}}</tool_call>',
]
cases = [{"output": o, **extract(o)} for o in outputs]
path = os.path.join(os.path.dirname(__file__), "..", "Tests", "VLLMServerTests", "Goldens", "hermes_tool_calls.json")
json.dump(cases, open(path, "w"), ensure_ascii=False, indent=1)
print("wrote", path)


# llama3_json: vLLM 0.26's Llama3JsonToolParser.extract_tool_calls (vllm/tool_parsers/llama_tool_parser.py):
# re.finditer("{") over the text, json.JSONDecoder().raw_decode at each brace outside an object already read.
def llama3_json(output):
    if not ("<|python_tag|>" in output or "{" in output):
        return {"tools_called": False, "calls": [], "content": output}
    end_index, calls = -1, []
    try:
        for match in re.finditer(r"\{", output):
            start_index = match.start()
            if start_index <= end_index:
                continue
            obj, json_end = json.JSONDecoder().raw_decode(output[start_index:])
            end_index = start_index + json_end
            name = obj["name"]
            if not isinstance(name, str):
                raise TypeError("name")  # pydantic's FunctionCall(name=...) refuses a non-string
            args = obj["arguments"] if "arguments" in obj else obj["parameters"]
            calls.append({"name": name, "arguments": json.dumps(args, ensure_ascii=False)})
    except Exception:  # noqa: BLE001 — vLLM logs and returns the text as content
        return {"tools_called": False, "calls": [], "content": output}
    if calls:
        return {"tools_called": True, "calls": calls, "content": None}
    return {"tools_called": False, "calls": [], "content": output}


llama_outputs = [
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
]
llama = [{"output": o, **llama3_json(o)} for o in llama_outputs]
path = os.path.join(os.path.dirname(__file__), "..", "Tests", "VLLMServerTests", "Goldens", "llama3_json_tool_calls.json")
json.dump(llama, open(path, "w"), ensure_ascii=False, indent=1)
print("wrote", path)
