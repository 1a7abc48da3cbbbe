/// Streaming the pre-v11 format, `[TOOL_CALLS] [{"name": …, "arguments": {…}}]`, as vLLM's
/// `_extract_tool_calls_streaming_pre_v11_tokenizer` does: each delta is cut where a parse event may change what
/// the text is (after a `{`, `:`, `,`, `}` or `]`, depending on the state), each cut is fed to ijson, and its
/// events move the state; a call's name is sent once its string is read, its arguments as the text of the cuts
/// read inside the `arguments` object. A delta whose text the reader refuses sends nothing, and neither does any
/// later one (vLLM's coroutine has failed) until the array has ended.
extension MistralToolParser {
    mutating func streamPreV11(_ delta: PyText) -> ToolCallsDelta? {
        var delta = delta
        var content: PyText?
        var calls: [DeltaToolCall] = []
        var call = DeltaToolCall(index: currentToolID, type: "function")
        var callModified = false
        if delta.contains(Self.botToken) {
            let parts = delta.split(separator: Self.botToken)
            if !delta.hasPrefix(Self.botToken) { content = parts[0] }
            delta = Array(parts.dropFirst().joined())
        }
        while !delta.isEmpty {
            let stateBefore = state
            let piece: PyText
            switch state {
            case .waitingForToolStart: (piece, delta) = Self.cut(delta, after: ["{"])
            case .waitingForToolKey: (piece, delta) = Self.cut(delta, after: [":", "{"])
            case .parsingName: (piece, delta) = Self.cut(delta, after: [",", "]"])
            case .waitingForArgumentsStart: (piece, delta) = Self.cut(delta, after: ["{"])
            case .parsingArguments: (piece, delta) = Self.cut(delta, after: ["}"])
            case .parsingArgumentsCompleted, .parsingNameCompleted: (piece, delta) = Self.cut(delta, after: ["}", "]"])
            case .toolComplete: (piece, delta) = Self.cut(delta, after: ["{", "]"])
            case .allToolsComplete:
                content = delta
                piece = delta
                delta = []
            }
            if state != .allToolsComplete {
                let (events, failed) = reader.feed(piece)
                for (prefix, event) in events { apply(prefix, event) }
                if failed { return nil }  // vLLM's send raises; the parser returns None
            }
            if startingNewTool {
                startingNewTool = false
                if callModified {
                    if let id = currentToolMistralID {
                        call.id = id
                        currentToolMistralID = nil
                    }
                    trackStreamedArguments(call)
                    calls.append(call)
                }
                callModified = false
                currentToolID += 1
                streamedArguments.append([])
                names.append(nil)
                arguments.append(nil)
                currentToolMistralID = ToolCallBody.makeMistralID()
                call = DeltaToolCall(index: currentToolID, type: "function")
            }
            if let name = currentToolName {
                guard names.indices.contains(currentToolID) else { return nil }  // Python's IndexError
                callModified = true
                call.name = name.string
                names[currentToolID] = name
                currentToolName = nil
            }
            if state == .parsingNameCompleted { state = .waitingForToolKey }
            if state == .parsingArguments || state == .parsingArgumentsCompleted {
                if state == .parsingArgumentsCompleted { state = .waitingForToolKey }
                callModified = true
                call.arguments = (call.arguments ?? "") + piece.string
                if stateBefore != .parsingArguments {
                    // The first cut of the arguments: without the space before its `{`.
                    call.arguments = call.arguments!.codePoints.stripped(trailing: false).string
                }
            }
        }
        if callModified {
            if let id = currentToolMistralID {
                call.id = id
                currentToolMistralID = nil
            }
            trackStreamedArguments(call)
            calls.append(call)
        }
        let text = content.flatMap { $0.isEmpty ? nil : $0.string }
        if text != nil || !calls.isEmpty { return ToolCallsDelta(content: text, toolCalls: calls) }
        return state == .allToolsComplete ? ToolCallsDelta() : nil
    }

    /// vLLM's `update_stream_state_pre_v11_tokenizer`: what each ijson event means for the state.
    private mutating func apply(_ prefix: String, _ event: JSONEventReader.Event) {
        switch (prefix, event) {
        case ("item", .startMap):
            state = .waitingForToolKey
            startingNewTool = true
        case ("item", .mapKey("name")): state = .parsingName
        case ("item.name", .string(let name)):
            currentToolName = name.codePoints
            state = .parsingNameCompleted
        case ("item", .mapKey("arguments")): state = .waitingForArgumentsStart
        case ("item.arguments", .startMap): state = .parsingArguments
        case ("item.arguments", .endMap): state = .parsingArgumentsCompleted
        case ("item", .endMap): state = .toolComplete
        case ("", .endArray): state = .allToolsComplete
        default: break
        }
    }

    /// vLLM's `_track_streamed_args_pre_v11`.
    private mutating func trackStreamedArguments(_ call: DeltaToolCall) {
        guard let piece = call.arguments, streamedArguments.indices.contains(currentToolID) else { return }
        streamedArguments[currentToolID] += piece.codePoints
        arguments[currentToolID] = streamedArguments[currentToolID]
    }

    /// vLLM's `_split_delta` with one stop per character kind: the text through the first of `stops`, and the rest.
    private static func cut(_ text: PyText, after stops: Set<Unicode.Scalar>) -> (PyText, PyText) {
        guard let at = text.firstIndex(where: stops.contains) else { return (text, []) }
        return (Array(text[...at]), Array(text[(at + 1)...]))
    }
}
