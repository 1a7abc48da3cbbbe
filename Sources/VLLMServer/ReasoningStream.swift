/// One sequence's answer streamed through a `ReasoningParser`, as vLLM 0.26's chat server drives its reasoning
/// parser (`DelegatingParser.parse_delta`): a prompt that already ended the reasoning makes every piece content
/// as it comes; otherwise the parser splits each piece, and from the piece where the reasoning ends on, every
/// piece is content as it comes (a later `</think>` included).
///
/// One departure: where the reasoning ends inside a piece, what the qwen3 engine still held of the answer
/// (blank text it waits with, a `<` that may start a tag) goes out with that piece's content. vLLM hands it
/// only to a tool-call parser, so without one it is lost.
struct ReasoningStream: Sendable {
    private enum Phase: Sendable {
        case qwen3(Qwen3ReasoningEngine)
        case deepseekR1(DeepSeekR1Stream)
        /// The reasoning is over: content as it comes.
        case answer
    }

    private var phase: Phase

    init(_ parser: ReasoningParser, promptTokenIds: [Int]) {
        if parser.isReasoningEnd(promptTokenIds) {
            phase = .answer
        } else {
            switch parser.kind {
            case .qwen3: phase = .qwen3(Qwen3ReasoningEngine(thinking: parser.isThinkingEnabled, tokens: parser.tokens))
            case .deepseekR1: phase = .deepseekR1(DeepSeekR1Stream(tokens: parser.tokens))
            }
        }
    }

    /// The next piece of the answer (its text and token ids) → the reasoning and content to send now; nil
    /// where there is none. An empty string is sent as it is (vLLM sends `"reasoning": ""` where a piece
    /// starts with deepseek_r1's `</think>`).
    mutating func feed(_ delta: String, tokenIds: [Int], finished: Bool) -> (reasoning: String?, content: String?) {
        switch phase {
        case .answer:
            // An empty last piece carries no content, as the server sends one without a parser.
            return (nil, delta.isEmpty && finished ? nil : delta)
        case .qwen3(var engine):
            var (reasoning, content) = engine.feedDelta(delta, tokenIds: tokenIds)
            if engine.reasoningEnded {
                content = joined(content, engine.finishStreaming().content)
                phase = .answer
            } else {
                if finished {
                    let rest = engine.finishStreaming()
                    (reasoning, content) = (joined(reasoning, rest.reasoning), joined(content, rest.content))
                }
                phase = .qwen3(engine)
            }
            return (reasoning, content)
        case .deepseekR1(var stream):
            let (reasoning, content, ended) = stream.feed(delta, tokenIds: tokenIds, finished: finished)
            phase = ended ? .answer : .deepseekR1(stream)
            return (reasoning, content)
        }
    }

    private func joined(_ a: String?, _ b: String?) -> String? {
        guard let b, !b.isEmpty else { return a }
        return (a ?? "") + b
    }
}

/// deepseek_r1 streamed (vLLM's `BaseThinkingReasoningParser.extract_reasoning_streaming` with
/// `DeepSeekR1ReasoningParser`'s override), piece by piece until the piece that holds `</think>`: each is read
/// by which tags it and the pieces before it hold. vLLM knows the tags by their token ids; where the tokenizer
/// has no such tokens (vLLM refuses to start the parser then), a piece's tags are found in its text, holding
/// back a suffix that may begin one.
struct DeepSeekR1Stream: Sendable {
    private let tokens: ReasoningTokens
    private var startSeen = false
    private var held = ""

    init(tokens: ReasoningTokens) { self.tokens = tokens }

    mutating func feed(_ delta: String, tokenIds: [Int], finished: Bool)
        -> (reasoning: String?, content: String?, ended: Bool)
    {
        let result = split(delta, tokenIds: tokenIds, finished: finished)
        guard result.ended && !held.isEmpty else { return result }
        // What was held in case it began a tag is answer now.
        defer { held = "" }
        return (result.reasoning, (result.content ?? "") + held, true)
    }

    private mutating func split(_ delta: String, tokenIds: [Int], finished: Bool)
        -> (reasoning: String?, content: String?, ended: Bool)
    {
        let text: String
        let hasStart: Bool, hasEnd: Bool, isLoneTag: Bool
        if let start = tokens.think, let end = tokens.thinkEnd {
            text = delta
            hasStart = tokenIds.contains(start)
            hasEnd = tokenIds.contains(end)
            isLoneTag = tokenIds.count == 1 && (hasStart || hasEnd)
        } else {
            let scalars = (held + delta).codePoints
            let keep = finished ? 0 : max(partialTagOverlap(scalars, ReasoningParser.start.codePoints),
                                          partialTagOverlap(scalars, ReasoningParser.end.codePoints))
            text = Array(scalars.dropLast(keep)).string
            held = Array(scalars.suffix(keep)).string
            if text.isEmpty { return (nil, nil, false) }
            hasStart = text.contains(ReasoningParser.start)
            hasEnd = text.contains(ReasoningParser.end)
            isLoneTag = text == ReasoningParser.start || text == ReasoningParser.end
        }
        defer { startSeen = startSeen || hasStart }
        if isLoneTag { return (nil, nil, hasEnd) }
        if hasEnd, !hasStart || startSeen, let close = text.range(of: ReasoningParser.end) {
            // The reasoning ends in this piece: what precedes `</think>` is reasoning, the rest content.
            let after = String(text[close.upperBound...])
            return (String(text[..<close.lowerBound]), after.isEmpty ? nil : after, true)
        }
        if hasStart && !startSeen, let open = text.range(of: ReasoningParser.start) {
            guard hasEnd, let close = text.range(of: ReasoningParser.end) else { return (text, nil, false) }
            // Both tags in one piece: between them is reasoning (Python's slice: empty when `</think>` is first).
            let reasoning = open.upperBound <= close.lowerBound ? String(text[open.upperBound..<close.lowerBound]) : ""
            let after = String(text[close.upperBound...])
            return (reasoning, after.isEmpty ? nil : after, true)
        }
        return (text, nil, hasEnd)
    }
}
