import VLLMCore

/// A model-specific parser of tool calls out of a model's text (`--tool-call-parser`; vLLM's `ToolParser`).
protocol ToolCallTextParser: Sendable {
    /// A whole answer (vLLM's `extract_tool_calls`). Throws where vLLM's parser raises, which its server answers
    /// as an error.
    func extract(_ text: String) throws(OpenAIError) -> ExtractedToolCalls
    /// The next delta of a stream (vLLM's `extract_tool_calls_streaming`): `current` is the answer so far,
    /// `delta` its newest piece. Nil where vLLM's returns None (nothing to send yet, or its parser failed).
    mutating func stream(current: PyText, delta: PyText) -> ToolCallsDelta?
    /// The last call's arguments the parser has read but not yet streamed (vLLM's
    /// `get_remaining_unstreamed_args`), sent at the end of a stream.
    var remainingUnstreamedArguments: String { get }
}

extension ToolCallTextParser {
    /// `get_remaining_unstreamed_args` for the last call: what its arguments as read (`{}` where it has none)
    /// hold past what was sent, nothing where the two disagree.
    static func unstreamed(expected: PyText?, sent: PyText) -> String {
        let expected = expected ?? "{}".codePoints
        return expected.hasPrefix(sent) ? Array(expected[sent.count...]).string : ""
    }
}

/// vLLM's `ExtractedToolCallInformation`.
struct ExtractedToolCalls: Sendable, Equatable {
    var toolsCalled: Bool
    var calls: [ToolCallBody]
    var content: String?

    static func plain(_ text: String) -> ExtractedToolCalls { ExtractedToolCalls(toolsCalled: false, calls: [], content: text) }
}

/// The `--tool-call-parser` names this server has.
enum ToolCallParserKind: String, Sendable, CaseIterable {
    case hermes
    case llama3JSON = "llama3_json"
    case mistral

    static var supportedNames: [String] { allCases.map(\.rawValue).sorted() }

    /// A parser for one answer. `hasToken` says whether the model's vocabulary has a token: Mistral's format
    /// depends on whether it has `[ARGS]` (v11+ tokenizers), as vLLM decides it.
    func makeParser(hasToken: (String) -> Bool) -> any ToolCallTextParser {
        switch self {
        case .hermes: HermesToolParser()
        case .llama3JSON: Llama3JSONToolParser()
        case .mistral: MistralToolParser(isPreV11: !hasToken("[ARGS]"))
        }
    }

    /// vLLM's hermes and mistral parsers keep special tokens in the text (`skip_special_tokens=False` in their
    /// `adjust_request`), where their tags may be; llama3_json does not.
    var keepsSpecialTokens: Bool { self != .llama3JSON }

    /// Mistral's calls carry 9-character ids, also those of "required" and named choices (vLLM's
    /// `MistralParser.parse`).
    var makesMistralIDs: Bool { self == .mistral }
}

/// Tool calls out of one answer, whole or streamed, as vLLM's `DelegatingParser` does them for the chat server:
/// a named function's arguments are the answer, "required"'s array is read as it grows, "auto" goes through
/// the `--tool-call-parser`.
struct ToolCallParsing: Sendable {
    private enum Mode: Sendable {
        case named(String)
        case required
        case auto(any ToolCallTextParser)
    }

    private var mode: Mode
    let kind: ToolCallParserKind?

    /// Nil where the answer is plain content: `tool_choice` "none", or "auto" without tools or without a
    /// `--tool-call-parser` (vLLM without `--enable-auto-tool-choice`).
    init?(choice: ToolChoice, kind: ToolCallParserKind?, hasTools: Bool, hasToken: (String) -> Bool) {
        switch choice {
        case .none: return nil
        case .auto:
            guard let kind, hasTools else { return nil }
            mode = .auto(kind.makeParser(hasToken: hasToken))
        case .required: mode = .required
        case .named(let name): mode = .named(name)
        }
        self.kind = kind
    }

    /// Whether the answer is a named function's arguments (its stream never finishes with "tool_calls").
    var isNamedFunction: Bool { if case .named = mode { true } else { false } }

    /// A whole answer (nil: a reasoning parser found only thinking): the message's content and calls, and
    /// whether its finish_reason becomes "tool_calls" (vLLM's `_extract_tool_calls` and
    /// `chat_completion_full_generator`).
    func parse(_ content: String?, finishReason: FinishReason?) throws(OpenAIError)
        -> (content: String?, calls: [ToolCallBody], finishedWithToolCalls: Bool)
    {
        let answer = content ?? ""
        var result: (content: String?, calls: [ToolCallBody], finishedWithToolCalls: Bool)
        switch mode {
        case .named(let name):
            let calls = answer.codePoints.stripped().isEmpty ? [] : [ToolCallBody(name: name, arguments: answer)]
            result = ("", calls, false)
        case .required:
            result = ("", Self.requiredCalls(answer), finishReason == .stop)
        case .auto(let parser):
            let extracted = try parser.extract(answer)
            // No calls: the whole answer is the content, whatever the parser made of it.
            guard extracted.toolsCalled else { return (content, [], false) }
            let content = extracted.content.flatMap { $0.codePoints.stripped().isEmpty ? nil : $0 }
            return (content, extracted.calls, !extracted.calls.isEmpty)
        }
        if kind?.makesMistralIDs == true {
            for i in result.calls.indices { result.calls[i].id = ToolCallBody.makeMistralID() }
        }
        return result
    }

    /// "required"'s calls: pydantic's `TypeAdapter(list[FunctionDefinition]).validate_json`, each call's
    /// `parameters` written back with `json.dumps`; an answer that is not such a list has none.
    static func requiredCalls(_ answer: String) -> [ToolCallBody] {
        guard case .array(let items)? = try? PythonJSON.loads(answer.codePoints) else { return [] }
        var calls: [ToolCallBody] = []
        for item in items {
            // Absent or null, or of the field's type.
            func optional(_ key: String, _ isValid: (PythonJSON) -> Bool) -> Bool { item[key].map { $0.isNull || isValid($0) } ?? true }
            guard item.isObject, case .string(let name)? = item["name"], optional("description", { $0.stringValue != nil }),
                  optional("parameters", \.isObject), optional("strict", \.isBool), optional("defer_loading", \.isBool)
            else { return [] }
            calls.append(ToolCallBody(name: name, arguments: (item["parameters"] ?? .null).dumped))
        }
        return calls
    }

    // MARK: Streaming

    private var previousText: PyText = []
    private var functionNameReturned = false
    /// Whether some delta carried tool calls: a stream other than a named function's then finishes with
    /// "tool_calls" (vLLM's `tools_streamed`).
    private(set) var toolsStreamed = false

    /// The next piece of the answer → what to send for it, nil for nothing (vLLM's `parse_delta` past the
    /// reasoning, with `finalize_generation` at the end: the last call's arguments read but not streamed are
    /// added to the last delta's last call). Throws where vLLM's stream ends with an error: "required"'s array
    /// nested deeper than Python's stack allows.
    mutating func parseDelta(_ delta: String, finished: Bool) throws(OpenAIError) -> ToolCallsDelta? {
        let deltaText = delta.codePoints
        let current = previousText + deltaText
        var message: ToolCallsDelta?
        var unstreamed = ""
        switch mode {
        case .named(let name):
            message = ToolCallsDelta(toolCalls: [
                functionNameReturned
                    ? DeltaToolCall(index: 0, arguments: delta)
                    : DeltaToolCall(index: 0, id: ToolCallBody.makeID(), type: "function", name: name, arguments: delta),
            ])
            functionNameReturned = true
        case .required:
            message = try requiredDelta(previous: previousText, current: current, delta: deltaText)
        case .auto(var parser):
            mode = .required  // the enum lets go of the parser, so its arrays grow in place, not copied each delta
            message = parser.stream(current: current, delta: deltaText)
            if finished { unstreamed = parser.remainingUnstreamedArguments }
            mode = .auto(parser)
        }
        previousText = current
        if finished, var last = message?.toolCalls.popLast() {
            last.arguments = (last.arguments ?? "") + unstreamed
            message!.toolCalls.append(last)
        }
        if message?.toolCalls.isEmpty == false { toolsStreamed = true }
        return message
    }

    /// vLLM's `extract_required_tool_call_streaming`: the array is read as it grows (`partial_json_parser`); a
    /// call is announced, with the arguments written so far, once its object has `name` and `parameters`, and
    /// its arguments then stream as written, less what closes the call (`filter_delta_text`).
    private mutating func requiredDelta(previous: PyText, current: PyText, delta: PyText) throws(OpenAIError) -> ToolCallsDelta? {
        guard !current.isEmpty else { return nil }
        let parsed: PythonJSON?
        do {
            parsed = try PartialJSON.loadsPrefix(current, allowStrings: true).value
        } catch .recursion {
            throw .internalError(PythonJSON.recursionMessage)  // vLLM catches only the package's own errors
        } catch {
            parsed = nil
        }
        guard case .array(let calls)? = parsed, var call = calls.last else {
            functionNameReturned = false
            return nil
        }
        let (deltaArguments, finishesPreviousCall) = Self.filterDeltaText(delta, previous: previous)
        guard finishesPreviousCall || (call["name"] != nil && call["parameters"] != nil) else {
            functionNameReturned = false
            return nil
        }
        if functionNameReturned {
            guard !deltaArguments.isEmpty else { return nil }
            return ToolCallsDelta(toolCalls: [DeltaToolCall(index: calls.count - 1, arguments: deltaArguments.string)])
        }
        var arguments: PyText = []
        // `.*"parameters":\s*(.*)`: after the last `"parameters":` and the whitespace after it.
        if let at = current.rfind("\"parameters\":".codePoints) {
            var start = at + "\"parameters\":".count
            while start < current.count && current[start].isRegexSpace { start += 1 }
            arguments = Self.filterDeltaText(Array(current[start...]), previous: Array(current[..<start])).text
        }
        if finishesPreviousCall && call["parameters"] == nil && calls.count >= 2 { call = calls[calls.count - 2] }
        functionNameReturned = true
        // A name that is not a string is refused by pydantic (vLLM's stream would end with an error).
        guard case .string(let name)? = call["name"] else { return nil }
        return ToolCallsDelta(toolCalls: [
            DeltaToolCall(index: calls.count - 1, id: ToolCallBody.makeID(), type: "function", name: name, arguments: arguments.string)
        ])
    }

    /// vLLM's `filter_delta_text`: `delta` less what lies outside the array's objects (the brace level counted
    /// over `previous` first), cut at a `,` between them; and whether a brace in it brought the level to zero
    /// (it closes a call).
    static func filterDeltaText(_ delta: PyText, previous: PyText) -> (text: PyText, passedZero: Bool) {
        var level = 0
        var inString = false
        var escaped = false
        for c in previous {
            if escaped {
                escaped = false
                continue
            }
            if inString && c == "\\" {
                escaped = true
                continue
            }
            if c == "\"" {
                inString.toggle()
                continue
            }
            if !inString {
                if c == "{" { level += 1 } else if c == "}" { level -= 1 }
            }
        }
        var kept: PyText = []
        var passedZero = false
        for c in delta {
            if escaped {
                escaped = false
            } else if inString {
                if c == "\\" { escaped = true } else if c == "\"" { inString = false }
            } else if c == "\"" {
                inString = true
            } else if c == "{" {
                level += 1
                passedZero = level == 0
            } else if c == "}" {
                level -= 1
                passedZero = level == 0
            }
            if level != 0 {
                kept.append(c)
            } else if !inString && c == "," {
                break
            }
        }
        return (kept, passedZero)
    }
}

