import Foundation
import VLLMCore

/// `POST /v1/completions` body: vLLM's `CompletionRequest` (the fields this server acts on).
struct CompletionRequest: Decodable, Sendable {
    var model: String?
    var prompt: PromptInput.List?
    var echo: Bool
    var logprobs: Int?
    /// `nil` only when the client sent `null`… which vLLM reads as the default 16, so never `nil`.
    var maxTokens: Int
    var suffix: String?
    var addSpecialTokens: Bool
    var sampling: SamplingFields

    enum CodingKeys: String, CodingKey {
        case model, prompt, echo, logprobs, suffix
        case maxTokens = "max_tokens"
        case addSpecialTokens = "add_special_tokens"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        model = try container.decodeIfPresent(String.self, forKey: .model)
        prompt = try container.decodeIfPresent(PromptInput.List.self, forKey: .prompt)
        echo = try container.decodeIfPresent(Bool.self, forKey: .echo) ?? false
        logprobs = try container.decodeIfPresent(Int.self, forKey: .logprobs)
        maxTokens = try container.decodeIfPresent(Int.self, forKey: .maxTokens) ?? 16
        suffix = try container.decodeIfPresent(String.self, forKey: .suffix)
        addSpecialTokens = try container.decodeIfPresent(Bool.self, forKey: .addSpecialTokens) ?? true
        sampling = try SamplingFields(from: decoder)
        sampling.structured = try StructuredOutputFields(from: decoder)
    }

    /// vLLM's request validators, in its order and words.
    func validate() throws(OpenAIError) {
        guard let prompt, !prompt.prompts.isEmpty, prompt.prompts != [.text("")] else {
            throw .badRequest("Either prompt or prompt_embeds must be provided and non-empty.", param: "prompt")
        }
        for (index, item) in prompt.prompts.enumerated() {
            if case .tokens(let ids) = item {
                if ids.isEmpty {
                    throw .badRequest("prompt[\(index)] is an empty list of token ids.", param: "prompt")
                }
                if let bad = ids.first(where: { $0 < 0 }) {
                    throw .badRequest(
                        "prompt token ids must be non-negative, got \(bad) in prompt[\(index)].", param: "prompt")
                }
            }
        }
        if let logprobs, logprobs < 0, logprobs != -1 {
            throw .badRequest("`logprobs` must be a positive value or -1.", param: "logprobs")
        }
        if suffix != nil {
            throw .badRequest("suffix is not currently supported", param: "suffix")
        }
        try sampling.checkSupported()
    }
}

/// OpenAI's completion `logprobs` object: vLLM's `CompletionLogProbs`.
struct CompletionLogProbs: Encodable, Sendable, Equatable {
    var textOffset: [Int] = []
    var tokenLogprobs: [Double?] = []
    var tokens: [String] = []
    var topLogprobs: [OrderedLogprobs?] = []

    enum CodingKeys: String, CodingKey {
        case tokens
        case textOffset = "text_offset"
        case tokenLogprobs = "token_logprobs"
        case topLogprobs = "top_logprobs"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(textOffset, forKey: .textOffset)
        var logprobs = container.nestedUnkeyedContainer(forKey: .tokenLogprobs)
        for value in tokenLogprobs {
            if let value { try logprobs.encode(value) } else { try logprobs.encodeNil() }
        }
        try container.encode(tokens, forKey: .tokens)
        var tops = container.nestedUnkeyedContainer(forKey: .topLogprobs)
        for value in topLogprobs {
            if let value { try tops.encode(value) } else { try tops.encodeNil() }
        }
    }
}

/// A JSON object of token text → logprob that keeps its order (most likely first), as Python's
/// dict does.
struct OrderedLogprobs: Encodable, Sendable, Equatable {
    var entries: [(token: String, logprob: Double)] = []

    mutating func set(_ token: String, _ logprob: Double) {
        if let index = entries.firstIndex(where: { $0.token == token }) {
            entries[index].logprob = logprob
        } else {
            entries.append((token, logprob))
        }
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        for entry in entries {
            try container.encode(entry.logprob, forKey: Key(stringValue: entry.token))
        }
    }

    static func == (a: OrderedLogprobs, b: OrderedLogprobs) -> Bool {
        a.entries.map(\.token) == b.entries.map(\.token) && a.entries.map(\.logprob) == b.entries.map(\.logprob)
    }
}

/// One choice of a completion, streamed or not (vLLM's `CompletionResponseChoice` and
/// `CompletionResponseStreamChoice` have the same fields).
struct CompletionChoice: Encodable, Sendable {
    var index: Int
    var text: String
    var logprobs: CompletionLogProbs?
    var finishReason: FinishReason?
    var stopReason: StopReason?
    /// Only in a whole response whose request asked for them (`prompt_logprobs`, or echo with logprobs).
    var promptLogprobs: PromptLogprobs? = nil

    enum CodingKeys: String, CodingKey {
        case index, text, logprobs
        case finishReason = "finish_reason"
        case stopReason = "stop_reason"
        case promptLogprobs = "prompt_logprobs"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(index, forKey: .index)
        try container.encode(text, forKey: .text)
        try container.encode(logprobs, forKey: .logprobs)
        try container.encode(finishReason?.rawValue, forKey: .finishReason)
        try container.encode(StopReasonValue(reason: stopReason), forKey: .stopReason)
        if let promptLogprobs { try container.encode(promptLogprobs, forKey: .promptLogprobs) }
    }
}

/// vLLM's `prompt_logprobs`: one entry per prompt token, `null` for the first (nothing precedes it),
/// else an object of token id → `{"logprob", "rank", "decoded_token"}` holding the prompt's own token
/// first, then the most likely tokens (rank 1, 2, …), each token once.
struct PromptLogprobs: Encodable, Sendable, Equatable {
    struct Entry: Encodable, Sendable, Equatable {
        var tokenId: Int
        var logprob: Double
        var rank: Int
        var decodedToken: String

        enum CodingKeys: String, CodingKey {
            case logprob, rank
            case decodedToken = "decoded_token"
        }
    }

    var positions: [[Entry]?]

    func encode(to encoder: any Encoder) throws {
        var list = encoder.unkeyedContainer()
        for position in positions {
            guard let position else {
                try list.encodeNil()
                continue
            }
            var object = list.nestedContainer(keyedBy: OrderedLogprobs.Key.self)
            for entry in position { try object.encode(entry, forKey: OrderedLogprobs.Key(stringValue: String(entry.tokenId))) }
        }
    }
}

/// `text_completion` response and stream chunk (vLLM's `CompletionResponse` /
/// `CompletionStreamResponse`). A chunk carries `usage` only in the final usage chunk.
struct CompletionResponse: Encodable, Sendable {
    var id: String
    var object = "text_completion"
    var created: Int
    var model: String
    var choices: [CompletionChoice]
    var usage: UsageInfo?
    var systemFingerprint: String?
    /// Stream chunks leave out `usage` unless set; full responses always have it.
    var isChunk = false

    enum CodingKeys: String, CodingKey {
        case id, object, created, model, choices, usage
        case systemFingerprint = "system_fingerprint"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(object, forKey: .object)
        try container.encode(created, forKey: .created)
        try container.encode(model, forKey: .model)
        try container.encode(choices, forKey: .choices)
        if !isChunk || usage != nil { try container.encode(usage, forKey: .usage) }
        if !isChunk || systemFingerprint != nil { try container.encode(systemFingerprint, forKey: .systemFingerprint) }
    }
}
