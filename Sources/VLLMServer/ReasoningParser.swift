/// vLLM's `--reasoning-parser deepseek_r1 | qwen3`: the model thinks in `<think>…</think>` before it
/// answers; the thinking goes to the message's `reasoning` field (also `reasoning_content`, its older name)
/// and only the rest is `content`. A structured output then constrains only the answer after the thinking.
/// One per request: qwen3 reads the request's `chat_template_kwargs`.
///
/// - deepseek_r1 (vLLM 0.26's `DeepSeekR1ReasoningParser` over `BaseThinkingReasoningParser`): a leading
///   `<think>` is dropped (with any text before it); without `</think>` the whole answer is reasoning (the
///   chat template opened the block in the prompt); after the first `</think>` all is content.
/// - qwen3 (vLLM 0.26's engine-based `Qwen3Parser`, Qwen3ReasoningEngine.swift): the answer starts in the
///   reasoning unless `chat_template_kwargs.enable_thinking` is false (then it is all content); `<think>` is
///   dropped, `</think>` ends the reasoning, so does a `<tool_call>` (which stays in the content); a later
///   `</think>` is dropped.
///
/// Streamed (`ReasoningStream`), both follow vLLM's server: when the prompt already ended the reasoning,
/// every piece is content as it comes; otherwise the parser splits each piece until the reasoning ends, and
/// from there on every piece is content as it comes.
struct ReasoningParser: Sendable {
    enum Kind: String, Sendable, CaseIterable { case deepseekR1 = "deepseek_r1", qwen3 }
    static let start = "<think>"
    static let end = "</think>"
    let kind: Kind
    /// qwen3: false where `chat_template_kwargs.enable_thinking` is false in Python's sense (`false`, `null`,
    /// `0`, `""`, an empty array or object), as `Qwen3Parser` tests it; absent, true.
    let isThinkingEnabled: Bool
    /// The ids of the tags the model's tokenizer has as single tokens.
    let tokens: ReasoningTokens

    init?(name: String, chatTemplateKwargs: [String: JSONValue]? = nil, tokens: ReasoningTokens = ReasoningTokens()) {
        guard let kind = Kind(rawValue: name) else { return nil }
        self.kind = kind
        self.tokens = tokens
        isThinkingEnabled = kind != .qwen3 || (chatTemplateKwargs?["enable_thinking"]?.isPythonTrue ?? true)
    }

    /// A whole answer → (reasoning, content), each nil when empty or absent.
    func extract(_ text: String) -> (reasoning: String?, content: String?) {
        switch kind {
        case .qwen3:
            guard isThinkingEnabled else { return (nil, text) }
            return Qwen3ReasoningEngine.extract(text, tokens: tokens)
        case .deepseekR1:
            var rest = Substring(text)
            if let open = rest.range(of: Self.start) { rest = rest[open.upperBound...] }
            guard let close = rest.range(of: Self.end) else { return (String(rest), nil) }
            let content = String(rest[close.upperBound...])
            return (String(rest[..<close.lowerBound]), content.isEmpty ? nil : content)
        }
    }

    /// Whether the reasoning is over at the end of these tokens (vLLM's `is_reasoning_end`): the prompt's, to
    /// know where an answer starts. deepseek_r1: `</think>` comes after the last `<think>`. qwen3: the same,
    /// or a `<tool_call>` not closed by a `</tool_call>` comes after the last `<think>`.
    func isReasoningEnd(_ tokenIds: [Int]) -> Bool {
        switch kind {
        case .deepseekR1:
            guard let start = tokens.think, let end = tokens.thinkEnd else { return false }
            return tokenIds.last(where: { $0 == start || $0 == end }) == end
        case .qwen3:
            if let end = tokens.thinkEnd {
                if tokenIds.isEmpty { return !isThinkingEnabled }
                if let last = tokenIds.last(where: { $0 == end || $0 == tokens.think }), last == end { return true }
            }
            guard let call = tokens.toolCall else { return false }
            var closed = false
            for id in tokenIds.reversed() {
                if id == tokens.think { return false }
                if id == tokens.toolCallEnd { closed = true }
                if id == call && !closed { return true }
            }
            return false
        }
    }

    /// The tokens after which a structured output starts (`SamplingParams.structuredOutputsAfterTokenIds`):
    /// none where the prompt already ended the reasoning (the grammar applies from the first token); else the
    /// first generated token that ends it, as vLLM's StructuredOutputManager sees it — `</think>`, and for
    /// qwen3 a `<tool_call>` too. A tokenizer without one-token `<think>` and `</think>` cannot have its
    /// thinking told apart from its answer: nil (the caller refuses the request).
    func structuredOutputStart(promptTokenIds: [Int]) -> [Int]? {
        guard tokens.think != nil, let end = tokens.thinkEnd else { return nil }
        if isReasoningEnd(promptTokenIds) { return [] }
        return kind == .qwen3 ? [end] + [tokens.toolCall].compactMap { $0 } : [end]
    }

    /// A stream of one sequence's answer, after this prompt.
    func stream(promptTokenIds: [Int]) -> ReasoningStream {
        ReasoningStream(self, promptTokenIds: promptTokenIds)
    }
}

/// The ids of `<think>`, `</think>`, `<tool_call>` and `</tool_call>` where the tokenizer has each as a single
/// token (vLLM looks them up in the vocabulary).
struct ReasoningTokens: Sendable, Equatable {
    var think: Int?
    var thinkEnd: Int?
    var toolCall: Int?
    var toolCallEnd: Int?

    init(think: Int? = nil, thinkEnd: Int? = nil, toolCall: Int? = nil, toolCallEnd: Int? = nil) {
        (self.think, self.thinkEnd, self.toolCall, self.toolCallEnd) = (think, thinkEnd, toolCall, toolCallEnd)
    }

    init(_ tokenizer: any TextTokenizer) {
        func id(_ text: String) -> Int? {
            guard let ids = try? tokenizer.encode(text, addSpecialTokens: false), ids.count == 1 else { return nil }
            return ids[0]
        }
        self.init(
            think: id("<think>"), thinkEnd: id("</think>"), toolCall: id("<tool_call>"), toolCallEnd: id("</tool_call>"))
    }
}

extension JSONValue {
    /// Python's truth value of the value json.loads gives.
    var isPythonTrue: Bool {
        switch self {
        case .null: false
        case .bool(let value): value
        case .int(let value): value != 0
        case .double(let value): value != 0
        case .string(let value): !value.isEmpty
        case .array(let value): !value.isEmpty
        case .object(let value): !value.isEmpty
        }
    }
}
