import VLLMGrammar

/// A parser of tool calls out of a model's text (`--tool-call-parser`): whole answers, and streams.
protocol ToolCallTextParser: Sendable {
    init()
    static func extract(_ text: String) -> (content: String?, calls: [ToolCallBody])
    mutating func feed(_ delta: String, finished: Bool) -> (content: String?, calls: [ToolCallBody])
    var callsSent: Int { get }
}

/// The length of the longest start of `tag` that ends `bytes` (vLLM's `partial_tag_overlap`): a stream holds
/// that much back, since the next piece may complete the tag.
func partialTagOverlap(_ bytes: [UInt8], _ tag: String) -> Int {
    let tagBytes = Array(tag.utf8)
    for length in stride(from: min(tagBytes.count - 1, bytes.count), to: 0, by: -1)
    where bytes.suffix(length).elementsEqual(tagBytes.prefix(length)) {
        return length
    }
    return 0
}

/// The `--tool-call-parser` names this server has, and their parsers.
enum ToolCallParsers {
    static let byName: [String: any ToolCallTextParser.Type] = ["hermes": HermesToolParser.self, "llama3_json": Llama3JSONToolParser.self]
    static var supportedNames: [String] { byName.keys.sorted() }
}

/// vLLM's `hermes` tool-call parser (`--tool-call-parser hermes`: Hermes 2 Pro, Qwen2.5, Qwen3): a model
/// writes its calls after any content as `<tool_call>{"name": …, "arguments": {…}}</tool_call>`, the last one
/// possibly unclosed.
struct HermesToolParser: ToolCallTextParser {
    static let start = "<tool_call>"
    static let end = "</tool_call>"

    /// A whole answer: the content before the first call (nil when empty) and the calls, or — no call,
    /// or a call that is not `{"name", "arguments"}` JSON — the whole text as content and no calls
    /// (vLLM's `extract_tool_calls`). Arguments are written as Python's `json.dumps(…, ensure_ascii=False)`.
    static func extract(_ text: String) -> (content: String?, calls: [ToolCallBody]) {
        guard let first = text.range(of: start) else { return (text, []) }
        var calls: [ToolCallBody] = []
        for block in blocks(in: text[first.lowerBound...], includeUnclosed: true) {
            guard let call = parse(block) else { return (text, []) }
            calls.append(call)
        }
        let content = String(text[..<first.lowerBound])
        return (content.isEmpty ? nil : content, calls)
    }

    /// The bodies of the `<tool_call>` blocks in `text` (which starts at the first), and, with
    /// `includeUnclosed`, the rest after a start tag with no end.
    static func blocks(in text: Substring, includeUnclosed: Bool) -> [Substring] {
        var result: [Substring] = []
        var rest = text
        while let open = rest.range(of: start) {
            let body = rest[open.upperBound...]
            if let close = body.range(of: end) {
                result.append(body[..<close.lowerBound])
                rest = body[close.upperBound...]
            } else {
                if includeUnclosed { result.append(body) }
                break
            }
        }
        return result
    }

    static func parse(_ block: Substring) -> ToolCallBody? {
        guard let value = try? SchemaValue.parse(String(block)), case .string(let name)? = value["name"],
              let arguments = value["arguments"] else { return nil }
        return ToolCallBody(name: name, arguments: arguments.pythonJSON)
    }

    // MARK: Streaming

    private var text = ""
    /// UTF-8 bytes of `text` already sent as content.
    private var sentContent = 0
    private(set) var callsSent = 0

    /// Takes the next piece of the answer; returns the content that can be sent now (held back where it
    /// could be the start of `<tool_call>`) and the calls completed by it (at `finished`, an unclosed last
    /// one too). Each call is sent whole, in one delta.
    mutating func feed(_ delta: String, finished: Bool) -> (content: String?, calls: [ToolCallBody]) {
        text += delta
        let bytes = Array(text.utf8)
        var contentEnd = bytes.count
        if let first = text.range(of: Self.start) {
            contentEnd = text.utf8.distance(from: text.startIndex, to: first.lowerBound)
        } else if !finished {
            contentEnd = bytes.count - partialTagOverlap(bytes, Self.start)
        }
        var content: String? = nil
        if contentEnd > sentContent {
            content = String(decoding: bytes[sentContent..<contentEnd], as: UTF8.self)
            sentContent = contentEnd
        }
        var calls: [ToolCallBody] = []
        if let first = text.range(of: Self.start) {
            let found = Self.blocks(in: text[first.lowerBound...], includeUnclosed: finished)
            for block in found.dropFirst(callsSent) {
                guard let call = Self.parse(block) else { break }
                calls.append(call)
            }
            callsSent += calls.count
        }
        return (content, calls)
    }
}
