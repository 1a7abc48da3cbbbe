import Foundation
import VLLMCore

/// `POST /tokenize` body: vLLM's `TokenizeCompletionRequest` or `TokenizeChatRequest`.
struct TokenizeRequest: Decodable, Sendable {
    var model: String?
    var prompt: String?
    var messages: [JSONValue]?
    var addSpecialTokens: Bool?
    var addGenerationPrompt: Bool
    var continueFinalMessage: Bool
    var returnTokenStrs: Bool
    var tools: [JSONValue]?
    var chatTemplateKwargs: [String: JSONValue]?

    enum CodingKeys: String, CodingKey {
        case model, prompt, messages, tools
        case addSpecialTokens = "add_special_tokens"
        case addGenerationPrompt = "add_generation_prompt"
        case continueFinalMessage = "continue_final_message"
        case returnTokenStrs = "return_token_strs"
        case chatTemplateKwargs = "chat_template_kwargs"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        model = try container.decodeIfPresent(String.self, forKey: .model)
        prompt = try container.decodeIfPresent(String.self, forKey: .prompt)
        if let raw = try container.decodeIfPresent([JSONValue].self, forKey: .messages) {
            messages = try raw.enumerated().map { try ChatCompletionRequest.normalize(message: $0.element, index: $0.offset) }
        }
        addSpecialTokens = try container.decodeIfPresent(Bool.self, forKey: .addSpecialTokens)
        addGenerationPrompt = try container.decodeIfPresent(Bool.self, forKey: .addGenerationPrompt) ?? true
        continueFinalMessage = try container.decodeIfPresent(Bool.self, forKey: .continueFinalMessage) ?? false
        returnTokenStrs = try container.decodeIfPresent(Bool.self, forKey: .returnTokenStrs) ?? false
        tools = try container.decodeIfPresent([JSONValue].self, forKey: .tools)
        chatTemplateKwargs = try container.decodeIfPresent([String: JSONValue].self, forKey: .chatTemplateKwargs)
    }
}

/// vLLM's `TokenizeResponse`.
struct TokenizeResponse: Encodable, Sendable {
    var count: Int
    var maxModelLen: Int
    var tokens: [Int]
    var tokenStrs: [String]?

    enum CodingKeys: String, CodingKey {
        case count, tokens
        case maxModelLen = "max_model_len"
        case tokenStrs = "token_strs"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(count, forKey: .count)
        try container.encode(maxModelLen, forKey: .maxModelLen)
        try container.encode(tokens, forKey: .tokens)
        try container.encode(tokenStrs, forKey: .tokenStrs)
    }
}

/// `POST /detokenize` body.
struct DetokenizeRequest: Decodable, Sendable {
    var model: String?
    var tokens: [Int]
}

extension OpenAIServing {
    /// `POST /tokenize`: a prompt, or chat messages rendered with the chat template first.
    public func tokenizeEndpoint(body: Data) async -> ServingResponse {
        await serve { () async throws(OpenAIError) -> ServingResponse in
            let request = try JSONCoding.decodeRequest(TokenizeRequest.self, from: body)
            try checkModel(request.model)
            let tokens: [Int]
            switch (request.prompt, request.messages) {
            case (.some(let prompt), .none):
                tokens = try tokenize(prompt, addSpecialTokens: request.addSpecialTokens ?? true)
            case (.none, .some(let messages)):
                if request.continueFinalMessage && request.addGenerationPrompt {
                    throw .badRequest(
                        "Cannot set both `continue_final_message` and `add_generation_prompt` to True.",
                        param: "continue_final_message")
                }
                let text = try renderChat(
                    messages: messages, addGenerationPrompt: request.addGenerationPrompt,
                    continueFinalMessage: request.continueFinalMessage, tools: request.tools,
                    extra: request.chatTemplateKwargs ?? [:], requestBody: body)
                tokens = try tokenize(text, addSpecialTokens: request.addSpecialTokens ?? false)
            default:
                throw .invalidBody("Give exactly one of `prompt` (a string) or `messages` (a list).", param: "prompt")
            }
            return .ok(
                TokenizeResponse(
                    count: tokens.count, maxModelLen: engine.maxModelLen, tokens: tokens,
                    tokenStrs: request.returnTokenStrs
                        ? tokens.map { tokenizer.tokenString($0) ?? tokenizer.tokenText($0) } : nil))
        }
    }

    /// `POST /detokenize`.
    public func detokenizeEndpoint(body: Data) async -> ServingResponse {
        await serve { () async throws(OpenAIError) -> ServingResponse in
            let request = try JSONCoding.decodeRequest(DetokenizeRequest.self, from: body)
            try checkModel(request.model)
            try checkTokenIds(request.tokens, param: "tokens")
            return .ok(["prompt": try decode(request.tokens, skipSpecialTokens: false)])
        }
    }
}
