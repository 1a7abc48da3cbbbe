/// vLLM's `hermes` tool-call parser (`--tool-call-parser hermes`: Hermes 2 Pro, Qwen2.5, Qwen3): a model
/// writes its calls after any content as `<tool_call>{"name": …, "arguments": {…}}</tool_call>`, the last one
/// possibly unclosed.
///
/// Streamed as vLLM streams it: content until a `<tool_call>` starts (a suffix that may be its start held back);
/// each call's name once its `"name": "…"` is whole, then its arguments as the raw text after `"arguments":`
/// grows — the model's own spelling, not re-serialized —, less the `}` closing the call once it is complete.
struct HermesToolParser: ToolCallTextParser {
    static let start = "<tool_call>".codePoints
    static let end = "</tool_call>".codePoints

    /// A whole answer: the content before the first call (nil when empty) and the calls, or — no call, or a
    /// call that is not `{"name", "arguments"}` JSON — the whole text as content and no calls (vLLM's
    /// `extract_tool_calls`). Arguments are written as Python's `json.dumps(…, ensure_ascii=False)`.
    func extract(_ text: String) -> ExtractedToolCalls {
        let scalars = text.codePoints
        guard let first = scalars.find(Self.start) else { return .plain(text) }
        var calls: [ToolCallBody] = []
        for (block, _) in Self.regions(in: scalars) {
            guard let object = try? PythonJSON.loads(block), object.isObject,
                  case .string(let name)? = object["name"], let arguments = object["arguments"]
            else { return .plain(text) }
            calls.append(ToolCallBody(name: name, arguments: arguments.dumped))
        }
        let content = Array(scalars[..<first]).string
        return ExtractedToolCalls(toolsCalled: true, calls: calls, content: content.isEmpty ? nil : content)
    }

    /// The bodies `<tool_call>(.*?)</tool_call>|<tool_call>(.*)` finds, left to right, and whether each is closed
    /// (an unclosed last one runs to the end).
    static func regions(in text: PyText) -> [(body: PyText, closed: Bool)] {
        var result: [(body: PyText, closed: Bool)] = []
        var position = 0
        while let open = text.find(start, from: position) {
            let bodyStart = open + start.count
            guard let close = text.find(end, from: bodyStart) else {
                result.append((Array(text[bodyStart...]), false))
                break
            }
            result.append((Array(text[bodyStart..<close]), true))
            position = close + end.count
        }
        return result
    }

    // MARK: Streaming

    /// Code points of the answer already sent as content.
    private var sentContent = 0
    /// Per call: its name once sent, its arguments text as sent (vLLM's `prev_tool_call_arr`,
    /// `streamed_args_for_tool`).
    private var names: [String?] = []
    private var arguments: [PyText?] = []
    private var streamedArguments: [PyText] = []

    mutating func stream(current: PyText, delta: PyText) -> ToolCallsDelta? {
        let content = newContent(current)
        // A RecursionError out of `json.loads` ends the step with nothing sent, the content taken above lost
        // with it (vLLM's `except Exception: return None`).
        guard let jsons = try? Self.callJSONs(current) else { return nil }
        var calls: [DeltaToolCall] = []
        for (i, (json, isComplete)) in jsons.enumerated() {
            if i >= names.count {
                names.append(nil)
                arguments.append(nil)
                streamedArguments.append([])
            }
            if names[i] == nil {
                // The next call waits until this one's name is whole.
                guard let name = Self.name(in: json) else { break }
                names[i] = name
                calls.append(DeltaToolCall(index: i, id: ToolCallBody.makeID(), type: "function", name: name))
            }
            if let text = Self.argumentsText(json, isComplete: isComplete), text.count > streamedArguments[i].count {
                let diff = Array(text[streamedArguments[i].count...])
                streamedArguments[i] = text
                arguments[i] = text
                calls.append(DeltaToolCall(index: i, arguments: diff.string))
            }
        }
        return content != nil || !calls.isEmpty ? ToolCallsDelta(content: content, toolCalls: calls) : nil
    }

    var remainingUnstreamedArguments: String {
        guard let last = arguments.indices.last else { return "" }
        return Self.unstreamed(expected: arguments[last], sent: streamedArguments[last])
    }

    /// Content not yet sent: up to the first `<tool_call>`, or else all but a suffix that may begin one.
    private mutating func newContent(_ current: PyText) -> String? {
        let sendable = current.find(Self.start) ?? (current.count - partialTagOverlap(current, Self.start))
        guard sendable > sentContent else { return nil }
        defer { sentContent = sendable }
        return Array(current[sentContent..<sendable]).string
    }

    /// Each `<tool_call>` region's JSON text (stripped) and whether it is complete: closed, or — the last,
    /// unclosed — already valid JSON (a partial `</tool_call>` at its end left out).
    static func callJSONs(_ text: PyText) throws(PythonJSON.DecodeError) -> [(json: PyText, isComplete: Bool)] {
        try regions(in: text).map { (body, closed) throws(PythonJSON.DecodeError) in
            if closed { return (body.stripped(), true) }
            let json = Array(body.dropLast(partialTagOverlap(body, end))).stripped()
            return (json, json.isEmpty ? false : try PythonJSON.isComplete(json[...]))
        }
    }

    /// `"name"\s*:\s*"([^"]+)"`: the first such name, or nil while it is not whole.
    static func name(in json: PyText) -> String? {
        var from = 0
        while let at = json.find("\"name\"".codePoints, from: from) {
            from = at + 1
            var i = skipSpace(json, at + 6)
            guard i < json.count, json[i] == ":" else { continue }
            i = skipSpace(json, i + 1)
            guard i < json.count, json[i] == "\"" else { continue }
            guard let close = json.find(["\""], from: i + 1), close > i + 1 else { continue }
            return Array(json[(i + 1)..<close]).string
        }
        return nil
    }

    /// The text after the first `"arguments"\s*:\s*`; for a complete call, less the `}` that closes the call.
    static func argumentsText(_ json: PyText, isComplete: Bool) -> PyText? {
        var from = 0
        while let at = json.find("\"arguments\"".codePoints, from: from) {
            from = at + 1
            let i = skipSpace(json, at + 11)
            guard i < json.count, json[i] == ":" else { continue }
            var raw = Array(json[skipSpace(json, i + 1)...])
            if isComplete {
                raw = raw.stripped(leading: false)
                if raw.last == "}" { raw = Array(raw.dropLast()).stripped(leading: false) }
            }
            return raw
        }
        return nil
    }

    /// Past `\s*`.
    private static func skipSpace(_ text: PyText, _ index: Int) -> Int {
        var index = index
        while index < text.count && text[index].isRegexSpace { index += 1 }
        return index
    }
}
