import Foundation
import VLLMCore

/// `POST /v1/chat/completions` body: vLLM's `ChatCompletionRequest` (the fields this server acts on).
struct ChatCompletionRequest: Decodable, Sendable {
    var model: String?
    /// Each an object with `role` and `content`, content already flattened to a string.
    var messages: [JSONValue]
    var logprobs: Bool
    var topLogprobs: Int?
    var maxTokens: Int?
    var maxCompletionTokens: Int?
    var addGenerationPrompt: Bool
    var continueFinalMessage: Bool
    var addSpecialTokens: Bool
    var chatTemplate: String?
    var chatTemplateKwargs: [String: JSONValue]?
    var tools: [JSONValue]?
    var toolChoice: JSONValue?
    /// With a reasoning parser, whether the reasoning is returned (vLLM's `include_reasoning`, default true).
    var includeReasoning: Bool
    /// `false`: only the first tool call is returned (vLLM's `maybe_filter_parallel_tool_calls`).
    var parallelToolCalls: Bool?
    var sampling: SamplingFields

    enum CodingKeys: String, CodingKey {
        case model, messages, logprobs, tools
        case topLogprobs = "top_logprobs"
        case maxTokens = "max_tokens"
        case maxCompletionTokens = "max_completion_tokens"
        case addGenerationPrompt = "add_generation_prompt"
        case continueFinalMessage = "continue_final_message"
        case addSpecialTokens = "add_special_tokens"
        case chatTemplate = "chat_template"
        case chatTemplateKwargs = "chat_template_kwargs"
        case toolChoice = "tool_choice"
        case includeReasoning = "include_reasoning"
        case parallelToolCalls = "parallel_tool_calls"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        model = try container.decodeIfPresent(String.self, forKey: .model)
        let raw = try container.decode([JSONValue].self, forKey: .messages)
        messages = try raw.enumerated().map { try Self.normalize(message: $0.element, index: $0.offset) }
        logprobs = try container.decodeIfPresent(Bool.self, forKey: .logprobs) ?? false
        topLogprobs = try container.decodeIfPresent(Int.self, forKey: .topLogprobs)
        maxTokens = try container.decodeIfPresent(Int.self, forKey: .maxTokens)
        maxCompletionTokens = try container.decodeIfPresent(Int.self, forKey: .maxCompletionTokens)
        addGenerationPrompt = try container.decodeIfPresent(Bool.self, forKey: .addGenerationPrompt) ?? true
        continueFinalMessage = try container.decodeIfPresent(Bool.self, forKey: .continueFinalMessage) ?? false
        addSpecialTokens = try container.decodeIfPresent(Bool.self, forKey: .addSpecialTokens) ?? false
        chatTemplate = try container.decodeIfPresent(String.self, forKey: .chatTemplate)
        chatTemplateKwargs = try container.decodeIfPresent([String: JSONValue].self, forKey: .chatTemplateKwargs)
        tools = try container.decodeIfPresent([JSONValue].self, forKey: .tools)
        toolChoice = try container.decodeIfPresent(JSONValue.self, forKey: .toolChoice)
        includeReasoning = try container.decodeIfPresent(Bool.self, forKey: .includeReasoning) ?? true
        parallelToolCalls = try container.decodeIfPresent(Bool.self, forKey: .parallelToolCalls)
        sampling = try SamplingFields(from: decoder)
        sampling.structured = try StructuredOutputFields(from: decoder)
    }

    /// Checks one message's shape and joins content-part arrays of text into one string
    /// (vLLM's "string" content format joins text parts with newlines).
    static func normalize(message: JSONValue, index: Int) throws(OpenAIError) -> JSONValue {
        guard var object = message.objectValue else {
            throw .invalidBody(
                "messages[\(index)] must be an object with `role` and `content`, got \(message.typeName).",
                param: "messages")
        }
        guard let role = object["role"]?.stringValue else {
            throw .invalidBody("messages[\(index)].role is required and must be a string.", param: "messages")
        }
        switch object["content"] {
        case .none, .some(.null):
            if role != "assistant" {
                throw .invalidBody("messages[\(index)].content is required for role '\(role)'.", param: "messages")
            }
        case .some(.string):
            break
        case .some(.array(let parts)):
            var texts: [String] = []
            for (partIndex, part) in parts.enumerated() {
                if let text = part.stringValue {
                    texts.append(text)
                    continue
                }
                let where_ = "messages[\(index)].content[\(partIndex)]"
                guard let fields = part.objectValue, let type = fields["type"]?.stringValue else {
                    throw .invalidBody("\(where_) must be an object with a `type`.", param: "messages")
                }
                guard type == "text" else {
                    throw .badRequest(
                        "\(where_) has type '\(type)'; this server accepts only 'text' content parts.",
                        param: "messages")
                }
                guard let text = fields["text"]?.stringValue else {
                    throw .invalidBody("\(where_).text is required and must be a string.", param: "messages")
                }
                texts.append(text)
            }
            object["content"] = .string(texts.joined(separator: "\n"))
        case .some(let other):
            throw .invalidBody(
                "messages[\(index)].content must be a string or an array of content parts, got \(other.typeName).",
                param: "messages")
        }
        return .object(object)
    }

    /// vLLM's request validators, in its words.
    func validate() throws(OpenAIError) {
        if messages.isEmpty {
            throw .badRequest("messages must contain at least one message.", param: "messages")
        }
        if let topLogprobs {
            if !logprobs {
                throw .badRequest("when using `top_logprobs`, `logprobs` must be set to true.", param: "top_logprobs")
            }
            if topLogprobs < 0 && topLogprobs != -1 {
                throw .badRequest("`top_logprobs` must be a positive value.", param: "top_logprobs")
            }
        }
        if continueFinalMessage && addGenerationPrompt {
            throw .badRequest(
                "Cannot set both `continue_final_message` and `add_generation_prompt` to True.",
                param: "continue_final_message")
        }
        if chatTemplate != nil || chatTemplateKwargs?["chat_template"] != nil {
            throw .badRequest(
                "Chat template is passed with request, but --trust-request-chat-template is not set. "
                    + "Refused request with untrusted chat template.", param: "chat_template")
        }
        try sampling.checkSupported()
    }

    /// `max_completion_tokens`, else the deprecated `max_tokens`.
    var requestedMaxTokens: Int? { maxCompletionTokens ?? maxTokens }
}

/// One logprob entry of a chat choice (vLLM's `ChatCompletionLogProb`).
struct ChatLogProb: Encodable, Sendable, Equatable {
    var token: String
    var logprob: Double
    var bytes: [UInt8]?
}

/// vLLM's `ChatCompletionLogProbsContent`.
struct ChatLogProbsContent: Encodable, Sendable, Equatable {
    var token: String
    var logprob: Double
    var bytes: [UInt8]?
    var topLogprobs: [ChatLogProb]

    enum CodingKeys: String, CodingKey {
        case token, logprob, bytes
        case topLogprobs = "top_logprobs"
    }
}

/// `logprobs` of a chat choice.
struct ChatLogProbs: Encodable, Sendable, Equatable {
    var content: [ChatLogProbsContent]?
}

/// The assistant's message, or a streamed delta of it.
struct ChatMessageBody: Encodable, Sendable {
    var role: String?
    var content: String?
    /// Full messages always carry `tool_calls` (`[]` when none) as vLLM's do.
    var toolCalls: [ToolCallBody] = []
    /// A delta's pieces of tool calls (left out when none).
    var toolCallDeltas: [DeltaToolCall] = []
    /// Under a reasoning parser: the thinking, written as `reasoning` and, for older clients,
    /// `reasoning_content` (in deltas, only when there is some).
    var reasoning: String?
    var hasReasoningFields = false
    var isDelta = false

    enum CodingKeys: String, CodingKey {
        case role, content, reasoning
        case toolCalls = "tool_calls"
        case reasoningContent = "reasoning_content"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        if isDelta {
            try container.encodeIfPresent(role, forKey: .role)
            try container.encodeIfPresent(content, forKey: .content)
            if let reasoning {
                try container.encode(reasoning, forKey: .reasoning)
                try container.encode(reasoning, forKey: .reasoningContent)
            }
            if !toolCallDeltas.isEmpty { try container.encode(toolCallDeltas, forKey: .toolCalls) }
        } else {
            try container.encode(role, forKey: .role)
            try container.encode(content, forKey: .content)
            if hasReasoningFields {
                try container.encode(reasoning, forKey: .reasoning)
                try container.encode(reasoning, forKey: .reasoningContent)
            }
            try container.encode(toolCalls, forKey: .toolCalls)
        }
    }
}

/// One choice of a chat completion or chunk.
struct ChatChoice: Encodable, Sendable {
    var index: Int
    var message: ChatMessageBody
    var logprobs: ChatLogProbs?
    var finishReason: FinishReason?
    var stopReason: StopReason?
    var isDelta = false
    /// The answer is tool calls (tool_choice "required", or "auto" with a parser that found some):
    /// finish_reason "tool_calls", as OpenAI and vLLM say.
    var finishedWithToolCalls = false

    enum CodingKeys: String, CodingKey {
        case index, message, delta, logprobs
        case finishReason = "finish_reason"
        case stopReason = "stop_reason"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(index, forKey: .index)
        try container.encode(message, forKey: isDelta ? .delta : .message)
        try container.encode(logprobs, forKey: .logprobs)
        try container.encode(finishedWithToolCalls ? "tool_calls" : finishReason?.rawValue, forKey: .finishReason)
        if !isDelta || finishReason != nil {
            try container.encode(StopReasonValue(reason: stopReason), forKey: .stopReason)
        }
    }
}

/// `chat.completion` response and `chat.completion.chunk` (vLLM's `ChatCompletionResponse` /
/// `ChatCompletionStreamResponse`).
struct ChatCompletionResponse: Encodable, Sendable {
    var id: String
    var created: Int
    var model: String
    var choices: [ChatChoice]
    var usage: UsageInfo?
    var systemFingerprint: String?
    var isChunk = false
    /// Only in a whole response whose request asked for `prompt_logprobs` (vLLM puts them here, not per choice).
    var promptLogprobs: PromptLogprobs? = nil

    enum CodingKeys: String, CodingKey {
        case id, object, created, model, choices, usage
        case systemFingerprint = "system_fingerprint"
        case promptLogprobs = "prompt_logprobs"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(isChunk ? "chat.completion.chunk" : "chat.completion", forKey: .object)
        try container.encode(created, forKey: .created)
        try container.encode(model, forKey: .model)
        try container.encode(choices, forKey: .choices)
        if !isChunk || usage != nil { try container.encode(usage, forKey: .usage) }
        if !isChunk || systemFingerprint != nil { try container.encode(systemFingerprint, forKey: .systemFingerprint) }
        if let promptLogprobs { try container.encode(promptLogprobs, forKey: .promptLogprobs) }
    }
}
