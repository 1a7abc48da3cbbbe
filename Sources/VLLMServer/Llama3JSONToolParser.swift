/// vLLM's `llama3_json` tool-call parser (Llama 3.x and 4 with vLLM's tool template): the answer is one or
/// more JSON objects `{"name": …, "parameters" | "arguments": {…}}` (separated by `;`, optionally after
/// `<|python_tag|>`). As vLLM's `extract_tool_calls`: every `{` outside an object already read starts one,
/// decoded as Python's `raw_decode` does; one that is not such an object turns the whole answer back into
/// plain content. vLLM refuses to start this parser for a tokenizer without `<|python_tag|>`; here it runs
/// on any (a departure: the tag is only a marker in the text).
///
/// Streamed as vLLM streams it: an answer that does not start with `{` or the tag is content; otherwise the
/// objects so far are read with `partial_json_parser` (unfinished strings dropped until the call's name is sent),
/// the name is sent once read, and the arguments as the common prefix of `json.dumps` of what was read the step
/// before and now — Python's spelling, not the model's —, the rest once the object is complete.
struct Llama3JSONToolParser: ToolCallTextParser {
    static let botToken = "<|python_tag|>".codePoints

    func extract(_ text: String) -> ExtractedToolCalls {
        let scalars = text.codePoints
        guard scalars.contains(Self.botToken) || scalars.contains(["{"]) else { return .plain(text) }
        var end = -1
        var calls: [ToolCallBody] = []
        for start in scalars.indices where scalars[start] == "{" && start > end {
            guard let (object, objectEnd) = try? PythonJSON.rawDecode(scalars[start...]),
                  case .string(let name)? = object["name"], let arguments = object["arguments"] ?? object["parameters"]
            else { return .plain(text) }
            end = objectEnd
            calls.append(ToolCallBody(name: name, arguments: arguments.dumped))
        }
        return calls.isEmpty ? .plain(text) : ExtractedToolCalls(toolsCalled: true, calls: calls, content: nil)
    }

    // MARK: Streaming

    /// vLLM's `current_tool_id`, `current_tool_name_sent`, `streamed_args_for_tool`, `prev_tool_call_arr`.
    private var currentToolID = -1
    private var currentToolNameSent = false
    private var streamedArguments: [PyText] = []
    private var previousCalls: [PythonJSON] = []

    /// An exception vLLM's parser catches (`IndexError`, `TypeError`, `AttributeError`, an assertion): it then sends
    /// nothing for the delta.
    private struct PythonException: Error {}

    mutating func stream(current: PyText, delta: PyText) -> ToolCallsDelta? {
        guard current.hasPrefix(Self.botToken) || current.hasPrefix(["{"]) else { return ToolCallsDelta(content: delta.string) }
        return try? streamCalls(current)
    }

    private mutating func streamCalls(_ current: PyText) throws -> ToolCallsDelta? {
        var calls: [PythonJSON] = []
        var isComplete: [Bool] = []
        var start = current.hasPrefix(Self.botToken) ? Self.botToken.count : 0
        while start < current.count {
            let rest = Array(current[start...])
            let (object, length) = try PartialJSON.loadsPrefix(rest, allowStrings: currentToolNameSent)
            isComplete.append(try PythonJSON.isComplete(rest[..<length]))
            start += length + 2  // len("; ")
            calls.append(try Self.aliasingParameters(object))
        }
        guard !calls.isEmpty else { return nil }
        guard currentToolID < calls.count else { throw PythonException() }  // Python's IndexError
        let call = calls[currentToolID >= 0 ? currentToolID : calls.count - 1]
        if calls.count > currentToolID + 1 {
            // A new call: first what the last one's completion added but was not sent.
            var delta: ToolCallsDelta?
            if currentToolID >= 0, let arguments = try Self.get(call, "arguments"), arguments.isTruthy {
                let json = arguments.dumped.codePoints
                let diff = Array(json[min(streamedArguments[currentToolID].count, json.count)...])
                delta = ToolCallsDelta(toolCalls: [DeltaToolCall(index: currentToolID, arguments: diff.string)])
                streamedArguments[currentToolID] += diff
            }
            currentToolID = calls.count - 1
            currentToolNameSent = false
            streamedArguments.append([])
            return delta
        }
        var delta: ToolCallsDelta?
        if !currentToolNameSent {
            if let name = try Self.get(call, "name"), name.isTruthy {
                // pydantic refuses a name that is not a string.
                guard case .string(let text) = name else { throw PythonException() }
                delta = ToolCallsDelta(toolCalls: [DeltaToolCall(index: currentToolID, id: ToolCallBody.makeID(), type: "function", name: text)])
                currentToolNameSent = true
            }
        } else if let arguments = try Self.get(call, "arguments"), arguments.isTruthy {
            let sent = streamedArguments[currentToolID].count
            let json = arguments.dumped.codePoints
            guard previousCalls.indices.contains(currentToolID) else { throw PythonException() }
            let previousArguments = try Self.get(previousCalls[currentToolID], "arguments")
            var diff: PyText?
            if isComplete[currentToolID] {
                diff = Array(json[min(sent, json.count)...])
            } else if let previous = previousArguments, previous.isTruthy {
                let previousJSON = previous.dumped.codePoints
                if previousJSON != json {
                    let prefix = Array(zip(previousJSON, json).prefix { $0 == $1 }.map(\.0))
                    diff = Array(prefix[min(sent, prefix.count)...])
                }
            }
            if let diff {
                delta = ToolCallsDelta(toolCalls: [DeltaToolCall(index: currentToolID, arguments: diff.string)])
                streamedArguments[currentToolID] += diff
            }
        }
        previousCalls = calls
        return delta
    }

    var remainingUnstreamedArguments: String {
        guard let last = previousCalls.indices.last else { return "" }
        let arguments = (try? Self.get(previousCalls[last], "arguments")) ?? nil
        let expected: PyText?
        switch arguments {
        case .string(let text)?: expected = text.codePoints
        case let value?: expected = value.dumped.codePoints
        case nil: expected = nil
        }
        return Self.unstreamed(expected: expected, sent: last < streamedArguments.count ? streamedArguments[last] : [])
    }

    /// `if "parameters" in obj: obj["arguments"] = obj["parameters"]` (Python's `in` on a list or string looks
    /// for an item or substring; anything else raises).
    private static func aliasingParameters(_ object: PythonJSON) throws -> PythonJSON {
        switch object {
        case .object(var members):
            guard let parameters = object["parameters"] else { return object }
            guard object["arguments"] == nil else { throw PythonException() }  // vLLM asserts not both
            members.append(("arguments", parameters))
            return .object(members)
        case .array(let items):
            if items.contains(where: { $0.stringValue == "parameters" }) { throw PythonException() }
            return object
        case .string(let text):
            if text.contains("parameters") { throw PythonException() }
            return object
        default:
            throw PythonException()
        }
    }

    /// `value.get(key)`, which only an object has.
    private static func get(_ value: PythonJSON, _ key: String) throws -> PythonJSON? {
        guard value.isObject else { throw PythonException() }
        return value[key]
    }
}
