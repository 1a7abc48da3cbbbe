/// vLLM's `--reasoning-parser deepseek_r1 | qwen3`: the model thinks in `<think>…</think>` before it
/// answers; the thinking goes to the message's `reasoning` field (also `reasoning_content`, its older name)
/// and only the rest is `content`. A structured output then constrains only the answer after `</think>`.
///
/// - deepseek_r1 (vLLM's `BaseThinkingReasoningParser`): a leading `<think>` is dropped; without `</think>`
///   the whole answer is reasoning (the chat template opened the block in the prompt).
/// - qwen3: as vLLM's earlier Qwen3 parser — reasoning only where the answer has both `<think>` and
///   `</think>` (then the content is what follows `</think>`); otherwise (thinking disabled) the whole
///   answer is content. Streamed, text before `<think>` goes out as content.
struct ReasoningParser: Sendable {
    enum Kind: String, Sendable, CaseIterable { case deepseekR1 = "deepseek_r1", qwen3 }
    static let start = "<think>"
    static let end = "</think>"
    let kind: Kind

    init?(name: String) {
        guard let kind = Kind(rawValue: name) else { return nil }
        self.kind = kind
    }

    /// A whole answer → (reasoning, content), each nil when empty or absent.
    func extract(_ text: String) -> (reasoning: String?, content: String?) {
        switch kind {
        case .qwen3:
            guard let open = text.range(of: Self.start), text.contains(Self.end) else { return (nil, text) }
            let rest = text[open.upperBound...]
            guard let close = rest.range(of: Self.end) else { return (nil, String(rest)) }
            let content = String(rest[close.upperBound...])
            return (String(rest[..<close.lowerBound]), content.isEmpty ? nil : content)
        case .deepseekR1:
            var rest = Substring(text)
            if let open = rest.range(of: Self.start) { rest = rest[open.upperBound...] }
            guard let close = rest.range(of: Self.end) else { return (String(rest), nil) }
            let content = String(rest[close.upperBound...])
            return (String(rest[..<close.lowerBound]), content.isEmpty ? nil : content)
        }
    }

    // MARK: Streaming

    private var text = ""
    private var sent = 0

    /// The next piece of the answer → the reasoning and content that can be sent now (a suffix that may
    /// be the start of a tag is held back until `finished`).
    mutating func feed(_ delta: String, finished: Bool) -> (reasoning: String?, content: String?) {
        text += delta
        let bytes = Array(text.utf8)
        var ready = bytes.count
        if !finished {
            // The tags are ASCII: their overlap in code points is their overlap in bytes.
            let scalars = text.codePoints
            ready -= max(partialTagOverlap(scalars, Self.start.codePoints), partialTagOverlap(scalars, Self.end.codePoints))
        }
        guard ready > sent else { return (nil, nil) }
        // Split the whole text so far, and send what is new on each side.
        let whole = String(decoding: bytes[..<ready], as: UTF8.self)
        let before = String(decoding: bytes[..<sent], as: UTF8.self)
        sent = ready
        let (r1, c1) = streamingSplit(before)
        let (r2, c2) = streamingSplit(whole)
        func newPart(_ old: String, _ new: String) -> String? {
            guard new.count > old.count, new.hasPrefix(old) else { return new == old || new.isEmpty ? nil : new }
            return String(new.dropFirst(old.count))
        }
        return (newPart(r1, r2), newPart(c1, c2))
    }

    /// The split of a partial answer as it stands (reasoning, content), tags removed.
    private func streamingSplit(_ text: String) -> (String, String) {
        switch kind {
        case .qwen3:
            guard let open = text.range(of: Self.start) else { return ("", text) }
            let head = String(text[..<open.lowerBound])
            guard let close = text.range(of: Self.end, range: open.upperBound..<text.endIndex) else {
                return (String(text[open.upperBound...]), head)
            }
            return (String(text[open.upperBound..<close.lowerBound]), head + String(text[close.upperBound...]))
        case .deepseekR1:
            var rest = Substring(text)
            if let open = rest.range(of: Self.start) { rest = rest[open.upperBound...] }
            guard let close = rest.range(of: Self.end) else { return (String(rest), "") }
            return (String(rest[..<close.lowerBound]), String(rest[close.upperBound...]))
        }
    }
}
