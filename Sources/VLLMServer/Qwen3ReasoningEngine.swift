/// vLLM 0.26's parser engine (vllm/parser/engine: `StreamingParserEngine` with its `TokenIDScanner` and
/// `IncrementalLexer`, read through `ParserEngine`) as the qwen3 reasoning adapter drives it: the config of
/// vllm/parser/qwen3.py with tool-call parsing skipped, so only the reasoning states remain.
///
/// - In `reasoning` (the start, unless thinking is off): `<think>` is dropped, `</think>` is dropped and ends
///   the reasoning, `<tool_call>` ends it and stays in the content.
/// - In `content`: `</think>` is dropped; `<tool_call>` reports a reasoning end again; the rest is text.
///
/// Text is lexed against all the config's literals (`<think>`, `</think>`, `<tool_call>`, `</tool_call>`,
/// `<function=`, `</function>`, `<parameter=`, `</parameter>`, `>`): a suffix that may begin one is held
/// until the next piece. A tag the tokenizer has as one token is found by its id in the piece's token ids;
/// once a piece has come with ids, that tag's text spelled by other tokens is plain text.
struct Qwen3ReasoningEngine: Sendable {
    enum Tag: CaseIterable, Sendable {
        case think, thinkEnd, toolCall, toolCallEnd, function, functionEnd, parameter, parameterEnd, closeAngle

        var text: String {
            switch self {
            case .think: "<think>"
            case .thinkEnd: "</think>"
            case .toolCall: "<tool_call>"
            case .toolCallEnd: "</tool_call>"
            case .function: "<function="
            case .functionEnd: "</function>"
            case .parameter: "<parameter="
            case .parameterEnd: "</parameter>"
            case .closeAngle: ">"
            }
        }
    }

    enum Event: Equatable {
        case reasoning(String), content(String), reasoningEnd
    }

    private enum State { case reasoning, content }

    /// The tags the tokenizer has as single tokens (vLLM's `token_id_terminals`, resolved in the vocabulary).
    private let tagIds: [Int: Tag]
    private var state: State
    private var lexer = TagLexer()
    private var everHadTokenIds = false
    /// Tags whose ids came before their text did (vLLM's deferred terminals), and the text since.
    private var pendingTags: [Tag] = []
    private var pendingText = ""

    // `ParserEngine`'s streaming state.
    /// A `REASONING_END` event has been seen.
    private(set) var reasoningEnded = false
    private var deferredContent = ""
    private var contentHasNonWhitespace = false

    init(thinking: Bool, tokens: ReasoningTokens) {
        state = thinking ? .reasoning : .content
        var ids: [Int: Tag] = [:]
        for (id, tag) in [(tokens.think, Tag.think), (tokens.thinkEnd, .thinkEnd), (tokens.toolCall, .toolCall),
                          (tokens.toolCallEnd, .toolCallEnd)] {
            if let id { ids[id] = tag }
        }
        tagIds = ids
    }

    /// A whole answer → (reasoning, content), as `ParserEngine.extract_reasoning` reads it (text only, no ids).
    static func extract(_ text: String, tokens: ReasoningTokens) -> (reasoning: String?, content: String?) {
        var engine = Qwen3ReasoningEngine(thinking: true, tokens: tokens)
        var (reasoning, content) = ("", "")
        for event in engine.feed(text, tokenIds: []) + engine.finish() {
            switch event {
            case .reasoning(let text): reasoning += text
            case .content(let text): content += text
            case .reasoningEnd: break
            }
        }
        return (reasoning.isEmpty ? nil : reasoning, content.isEmpty ? nil : content)
    }

    // MARK: Streaming (ParserEngine.extract_reasoning_streaming, finish_streaming)

    /// One streamed piece → the reasoning and content it lets out. Content that is only whitespace waits
    /// for more, until content that is not (`_events_to_delta`).
    mutating func feedDelta(_ text: String, tokenIds: [Int]) -> (reasoning: String?, content: String?) {
        delta(feed(text, tokenIds: tokenIds), finished: false)
    }

    /// Everything still held (`finish_streaming`): the lexer's suffix, waiting whitespace, a tag whose
    /// text never came; the reasoning ends here if it had not.
    mutating func finishStreaming() -> (reasoning: String?, content: String?) {
        let events = finish()
        guard !events.isEmpty || !deferredContent.isEmpty else { return (nil, nil) }
        return delta(events, finished: true)
    }

    private mutating func delta(_ events: [Event], finished: Bool) -> (reasoning: String?, content: String?) {
        var (reasoning, content) = ("", deferredContent)
        deferredContent = ""
        for event in events {
            switch event {
            case .reasoning(let text): reasoning += text
            case .content(let text): content += text
            case .reasoningEnd: reasoningEnded = true
            }
        }
        if !contentHasNonWhitespace && !content.isEmpty {
            if content.unicodeScalars.contains(where: { !$0.isPythonWhitespace }) {
                contentHasNonWhitespace = true
            } else if !finished {
                deferredContent = content
                content = ""
            }
        }
        return (reasoning.isEmpty ? nil : reasoning, content.isEmpty ? nil : content)
    }

    // MARK: The engine (StreamingParserEngine.feed, finish)

    mutating func feed(_ text: String, tokenIds: [Int]) -> [Event] {
        if !tokenIds.isEmpty { everHadTokenIds = true }
        var events: [Event] = []
        for item in scan(text, tokenIds: tokenIds) {
            switch item {
            case .text(let text): events += lexed(lexer.feed(text))
            case .tag(let tag):
                events += lexed(lexer.flush())
                events += onTag(tag)
            }
        }
        return events
    }

    mutating func finish() -> [Event] {
        var events: [Event] = []
        if !pendingText.isEmpty { events += lexed(lexer.feed(pendingText)) }
        for tag in pendingTags {
            events += lexed(lexer.flush())
            events += onTag(tag)
        }
        (pendingTags, pendingText) = ([], "")
        events += lexed(lexer.flush())
        if state == .reasoning {
            events.append(.reasoningEnd)
            state = .content
        }
        return events
    }

    private enum Item { case text(String), tag(Tag) }

    /// The piece split at the tags its token ids carry (vLLM's `TokenIDScanner.scan`), each found in the text
    /// in order; a tag whose text has not arrived waits, with the text after it, for the next piece.
    private mutating func scan(_ text: String, tokenIds: [Int]) -> [Item] {
        var items: [Item] = []
        var rest = Substring(text)
        if !pendingTags.isEmpty {
            rest = Substring(pendingText + text)
            pendingText = ""
            var waiting: [Tag] = []
            for tag in pendingTags {
                if waiting.isEmpty, let range = rest.range(of: tag.text) {
                    if range.lowerBound > rest.startIndex { items.append(.text(String(rest[..<range.lowerBound]))) }
                    items.append(.tag(tag))
                    rest = rest[range.upperBound...]
                } else {
                    waiting.append(tag)
                }
            }
            pendingTags = waiting
            if !waiting.isEmpty {
                pendingText = String(rest)
                rest = ""
            }
        }
        for tag in tokenIds.compactMap({ tagIds[$0] }) {
            if pendingTags.isEmpty, let range = rest.range(of: tag.text) {
                if range.lowerBound > rest.startIndex { items.append(.text(String(rest[..<range.lowerBound]))) }
                items.append(.tag(tag))
                rest = rest[range.upperBound...]
            } else {
                pendingTags.append(tag)
            }
        }
        if !pendingTags.isEmpty {
            pendingText += rest
        } else if !rest.isEmpty {
            items.append(.text(String(rest)))
        }
        return items
    }

    private mutating func lexed(_ tokens: [TagLexer.Token]) -> [Event] {
        var events: [Event] = []
        for token in tokens {
            switch token {
            case .text(let text): events += emit(text)
            // Once ids have come, a tag the tokenizer has as one token is that token, not its spelling.
            case .tag(let tag) where everHadTokenIds && tagIds.values.contains(tag): events += emit(tag.text)
            case .tag(let tag): events += onTag(tag)
            }
        }
        return events
    }

    /// The config's transitions, tool-call states skipped (`skip_tool_parsing`).
    private mutating func onTag(_ tag: Tag) -> [Event] {
        switch (state, tag) {
        case (.reasoning, .think), (.content, .thinkEnd): return []
        case (.reasoning, .thinkEnd):
            state = .content
            return [.reasoningEnd]
        case (_, .toolCall):
            state = .content
            return [.reasoningEnd, .content(tag.text)]
        default: return emit(tag.text)
        }
    }

    private func emit(_ text: String) -> [Event] {
        text.isEmpty ? [] : [state == .reasoning ? .reasoning(text) : .content(text)]
    }
}

/// vLLM's `IncrementalLexer` over `Qwen3ReasoningEngine.Tag`'s literals: text in, text and tags out, a suffix
/// that is the start of a tag held until the next piece shows whether it is one. Works on UTF-8 bytes; every
/// literal is ASCII, so a cut always falls between characters.
struct TagLexer: Sendable {
    enum Token: Equatable { case text(String), tag(Qwen3ReasoningEngine.Tag) }

    private static let literals = Qwen3ReasoningEngine.Tag.allCases.map { (Array($0.text.utf8), $0) }
    private static let firstBytes = Set(literals.map { $0.0[0] })
    private var buffer: [UInt8] = []

    mutating func feed(_ text: String) -> [Token] {
        buffer += text.utf8
        return drain(final: false)
    }

    /// Everything held, as text where it is not a whole tag.
    mutating func flush() -> [Token] {
        drain(final: true)
    }

    private mutating func drain(final: Bool) -> [Token] {
        var tokens: [Token] = []
        var start = 0
        func text(_ end: Int) {
            tokens.append(.text(String(decoding: buffer[start..<end], as: UTF8.self)))
            start = end
        }
        while start < buffer.count {
            let rest = buffer[start...]
            guard rest.contains(where: Self.firstBytes.contains) else {
                text(buffer.count)
                break
            }
            // The literals are prefix-free: a held start cannot also be a whole tag.
            if !final, Self.literals.contains(where: { $0.0.count > rest.count && $0.0.starts(with: rest) }) { break }
            if let (bytes, tag) = Self.literals.first(where: { rest.starts(with: $0.0) }) {
                tokens.append(.tag(tag))
                start += bytes.count
                continue
            }
            text(contentBoundary(rest))
        }
        buffer.removeFirst(start)
        return tokens
    }

    /// The first place after the head where a tag, or the start of one that the buffer ends with, begins.
    private func contentBoundary(_ rest: ArraySlice<UInt8>) -> Int {
        for i in (rest.startIndex + 1)..<rest.endIndex where Self.firstBytes.contains(rest[i]) {
            let tail = rest[i...]
            if Self.literals.contains(where: { $0.0.starts(with: tail.prefix($0.0.count)) }) { return i }
        }
        return rest.endIndex
    }
}

extension Unicode.Scalar {
    /// What Python's `str.strip()` removes: Unicode's White_Space, and the separators U+001C–U+001F.
    var isPythonWhitespace: Bool { properties.isWhitespace || (0x1C...0x1F).contains(value) }
}
