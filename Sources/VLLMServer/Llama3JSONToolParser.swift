import VLLMGrammar

/// vLLM's `llama3_json` tool-call parser (Llama 3.x and 4 with vLLM's tool template): the answer is one or
/// more JSON objects `{"name": …, "parameters" | "arguments": {…}}` (separated by `;`, optionally after
/// `<|python_tag|>`). As vLLM's `extract_tool_calls`: every `{` outside an object already read starts one,
/// decoded as Python's `raw_decode` does; one that is not such an object turns the whole answer back into
/// plain content. vLLM refuses to start this parser for a tokenizer without `<|python_tag|>`; here it runs
/// on any (a departure: the tag is only a marker in the text).
struct Llama3JSONToolParser: ToolCallTextParser {
    static let botToken = "<|python_tag|>"

    static func extract(_ text: String) -> (content: String?, calls: [ToolCallBody]) {
        guard text.contains(botToken) || text.contains("{") else { return (text, []) }
        let bytes = Array(text.utf8)
        var end = -1
        var calls: [ToolCallBody] = []
        for start in bytes.indices where bytes[start] == UInt8(ascii: "{") && start > end {
            guard let (value, count) = try? SchemaValue.parsePrefix(bytes[start...]),
                  case .string(let name)? = value["name"], let arguments = value["arguments"] ?? value["parameters"]
            else { return (text, []) }
            end = start + count
            calls.append(ToolCallBody(name: name, arguments: arguments.pythonJSON))
        }
        return calls.isEmpty ? (text, []) : (nil, calls)
    }

    private var text = ""
    private var sentContent = 0
    private(set) var callsSent = 0

    /// An answer that starts with `{` or `<|python_tag|>` is held until it ends, then sent as its calls (or,
    /// when it does not parse, as content); any other answer streams as content (vLLM's first test).
    mutating func feed(_ delta: String, finished: Bool) -> (content: String?, calls: [ToolCallBody]) {
        text += delta
        let mayBeCalls = text.hasPrefix("{") || text.hasPrefix(Self.botToken)
            || (Self.botToken.hasPrefix(text) && !finished)
        if !mayBeCalls || sentContent > 0 {
            let bytes = Array(text.utf8)
            defer { sentContent = bytes.count }
            return (bytes.count > sentContent ? String(decoding: bytes[sentContent...], as: UTF8.self) : nil, [])
        }
        guard finished else { return (nil, []) }
        let (content, calls) = Self.extract(text)
        callsSent = calls.count
        return (content, calls)
    }
}
