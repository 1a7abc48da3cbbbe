/// vLLM's `mistral` tool-call parser (`--tool-call-parser mistral`), for the two ways Mistral models write calls
/// after any content, chosen as vLLM chooses them — by whether the tokenizer has an `[ARGS]` token:
///
/// - v11+ tokenizers: `[TOOL_CALLS]name{…}[TOOL_CALLS]name{…}` (Hugging Face tokenizers may show `[ARGS]` between
///   the name and the arguments, which is dropped); the arguments are the text as written.
/// - older ones: `[TOOL_CALLS] [{"name": …, "arguments": {…}}, …]`, arguments rewritten by `json.dumps`.
///
/// Calls get Mistral's 9-character ids. vLLM refuses to start this parser for a tokenizer without
/// `[TOOL_CALLS]`; here it runs on any (as llama3_json: the tag is only a marker in the text). Streamed as vLLM
/// streams each format: v11+ sends a call's name once its `{` arrives and then the arguments text as it comes;
/// pre-v11 follows ijson's events over the array (MistralToolParser+PreV11.swift).
struct MistralToolParser: ToolCallTextParser {
    static let botToken = "[TOOL_CALLS]".codePoints
    static let argsToken = "[ARGS]".codePoints
    let isPreV11: Bool

    init(isPreV11: Bool) {
        self.isPreV11 = isPreV11
    }

    func extract(_ text: String) throws(OpenAIError) -> ExtractedToolCalls {
        let scalars = text.codePoints
        guard scalars.contains(Self.botToken) else { return .plain(text) }
        let parts = scalars.split(separator: Self.botToken)
        let content = parts[0].stripped().isEmpty ? nil : parts[0].string
        var calls: [ToolCallBody] = []
        if !isPreV11 {
            // Each `name{arguments}`; a part without `{` is skipped.
            for part in parts.dropFirst() {
                guard let brace = part.find(["{"]) else { continue }
                let name = Array(part[..<brace]).replacing(Self.argsToken, with: [])
                calls.append(ToolCallBody(id: ToolCallBody.makeMistralID(), name: name.string, arguments: Array(part[brace...]).string))
            }
            return ExtractedToolCalls(toolsCalled: true, calls: calls, content: content)
        }
        guard parts.count == 2 else {
            throw .badRequest("Only one BOT token should have been outputted, but got \(text).")
        }
        let stringified = parts[1].stripped()
        // raw_decode, else the regex `\[{.*}\]` (greedy) and json.loads; only decode errors are caught.
        func decode(_ text: ArraySlice<Unicode.Scalar>, raw: Bool) throws(OpenAIError) -> PythonJSON? {
            do {
                return raw ? try PythonJSON.rawDecode(text).value : try PythonJSON.loads(text)
            } catch .recursion {
                throw .internalError(PythonJSON.recursionMessage)
            } catch {
                return nil
            }
        }
        let value: PythonJSON
        if let decoded = try decode(stringified[...], raw: true) {
            value = decoded
        } else if let open = stringified.find("[{".codePoints), let close = stringified.rfind("}]".codePoints), close > open,
                  let decoded = try decode(stringified[open..<(close + 2)], raw: false)
        {
            value = decoded
        } else {
            return ExtractedToolCalls(toolsCalled: false, calls: [], content: stringified.string)
        }
        // `[{"name": tc["name"], "arguments": json.dumps(tc.get("arguments", {}))} for tc in tool_calls]`: what
        // is not a list of such objects raises, and vLLM's server answers the error — except an empty object or
        // string, which Python iterates as no items (tools called, none listed).
        let items: [PythonJSON]
        switch value {
        case .array(let list): items = list
        case .object(let members) where members.isEmpty: items = []
        case .string(let string) where string.isEmpty: items = []
        default: throw .badRequest("The tool calls after [TOOL_CALLS] are not a list: \(stringified.string)")
        }
        for item in items {
            guard item.isObject else { throw .badRequest("A tool call after [TOOL_CALLS] is not an object: \(item.dumped)") }
            guard let name = item["name"] else { throw .internalError("'name'") }
            guard case .string(let nameText) = name else {
                throw .badRequest("A tool call's name is not a string: \(name.dumped)")
            }
            calls.append(ToolCallBody(id: ToolCallBody.makeMistralID(), name: nameText, arguments: (item["arguments"] ?? .object([])).dumped))
        }
        return ExtractedToolCalls(toolsCalled: true, calls: calls, content: content)
    }

    // MARK: Streaming (the state is internal, not private: MistralToolParser+PreV11.swift shares it)

    /// vLLM's `StreamingState`.
    enum State { case waitingForToolStart, waitingForToolKey, parsingName, parsingNameCompleted, waitingForArgumentsStart,
                      parsingArguments, parsingArgumentsCompleted, toolComplete, allToolsComplete }

    var state = State.waitingForToolStart
    var currentToolID = -1
    var currentToolName: PyText?
    /// Per call: its name and arguments as read (vLLM's `prev_tool_call_arr`), its arguments as sent.
    var names: [PyText?] = []
    var arguments: [PyText?] = []
    var streamedArguments: [PyText] = []
    // Pre-v11 only: ijson's reader, and what its events left for the delta being built.
    var reader = JSONEventReader()
    var startingNewTool = false
    var currentToolMistralID: String?

    mutating func stream(current: PyText, delta: PyText) -> ToolCallsDelta? {
        guard current.contains(Self.botToken) else { return ToolCallsDelta(content: delta.string) }
        return isPreV11 ? streamPreV11(delta) : streamV11(delta)
    }

    var remainingUnstreamedArguments: String {
        guard let last = arguments.indices.last else { return "" }
        return Self.unstreamed(expected: arguments[last], sent: last < streamedArguments.count ? streamedArguments[last] : [])
    }

    /// vLLM's `_extract_tool_calls_streaming`.
    private mutating func streamV11(_ delta: PyText) -> ToolCallsDelta? {
        var delta = delta
        var additionalContent: PyText = []
        if state == .waitingForToolStart {
            guard delta.contains(Self.botToken) else { return ToolCallsDelta(content: delta.string) }
            if !delta.hasPrefix(Self.botToken) {
                // Text before the first tag is content; every later tag in this delta is dropped (vLLM's join).
                let parts = delta.split(separator: Self.botToken)
                additionalContent = parts[0]
                delta = Self.botToken + Array(parts.dropFirst().joined())
            }
        }
        let calls = deltaToolCalls(delta)
        if additionalContent.isEmpty && calls.isEmpty {
            // An empty delta once arguments have begun, so that the finish reason can be sent; else nothing.
            switch state {
            case .parsingArguments, .parsingArgumentsCompleted, .toolComplete, .allToolsComplete: return ToolCallsDelta()
            default: return nil
            }
        }
        return ToolCallsDelta(content: additionalContent.isEmpty ? nil : additionalContent.string, toolCalls: calls)
    }

    /// vLLM's `_generate_delta_tool_call`.
    private mutating func deltaToolCalls(_ delta: PyText) -> [DeltaToolCall] {
        guard !delta.isEmpty else { return [] }
        var delta = delta
        var id: String?
        if state != .parsingName && state != .parsingArguments && delta.hasPrefix(Self.botToken) {
            currentToolID += 1
            streamedArguments.append([])
            names.append(nil)
            arguments.append(nil)
            state = .parsingName
            delta = delta.replacing(Self.botToken, with: [], limit: 1)
        }
        if state == .parsingName {
            var name = currentToolName ?? []
            // The name ends where the arguments' `{` begins; it is sent whole.
            guard let brace = delta.find(["{"]) else {
                currentToolName = name + delta
                return []
            }
            id = ToolCallBody.makeMistralID()
            name = (name + delta[..<brace]).replacing(Self.argsToken, with: [])
            currentToolName = name
            names[currentToolID] = name
            delta = Array(delta[brace...])
            state = .parsingArguments
        }
        guard state == .parsingArguments else { return [] }
        var next: PyText?
        var piece = delta
        if let tag = delta.find(Self.botToken) {
            piece = Array(delta[..<tag])
            next = Array(delta[tag...])
            state = .toolComplete
        }
        streamedArguments[currentToolID] += piece
        arguments[currentToolID] = streamedArguments[currentToolID]
        var calls: [DeltaToolCall] = []
        if !(currentToolName ?? []).isEmpty || !piece.isEmpty {
            calls.append(DeltaToolCall(index: currentToolID, id: id, type: "function", name: currentToolName?.string,
                                       arguments: piece.string))
            currentToolName = nil
        }
        if let next, !next.isEmpty { calls += deltaToolCalls(next) }
        return calls
    }
}
