import Foundation
import VLLMEngine
import VLLMServer
import VLLMTemplates
import VLLMTokenizers

/// A HuggingFace tokenizer as the server and the engine need it.
struct HFTokenizerAdapter: TextTokenizer, DetokenizerFactory {
    let tokenizer: Tokenizer

    func encode(_ text: String, addSpecialTokens: Bool) throws -> [Int] {
        tokenizer.encode(text, addSpecialTokens: addSpecialTokens)
    }

    func decode(_ tokenIds: [Int], skipSpecialTokens: Bool) throws -> String {
        tokenizer.decode(tokenIds, skipSpecialTokens: skipSpecialTokens)
    }

    var vocabSize: Int { tokenizer.vocabSize }

    func tokenString(_ tokenId: Int) -> String? { tokenizer.idToToken(tokenId) }

    func makeDetokenizer(promptTokenIds: [Int], skipSpecialTokens: Bool, spacesBetweenSpecialTokens: Bool)
        -> any StreamingDetokenizer
    {
        tokenizer.makeDetokenizer(
            promptTokenIds: promptTokenIds, skipSpecialTokens: skipSpecialTokens,
            spacesBetweenSpecialTokens: spacesBetweenSpecialTokens)
    }
}

/// A chat template as the server needs it.
struct TemplateRenderer: ChatRenderer {
    let template: ChatTemplate

    func render(messages: [JSONValue], addGenerationPrompt: Bool, tools: [JSONValue]?, extra: [String: JSONValue])
        throws -> String
    {
        try template.render(
            messages: messages.map(Self.value), addGenerationPrompt: addGenerationPrompt,
            tools: tools.map { $0.map(Self.value) }, extra: extra.mapValues(Self.value))
    }

    /// JSON → template value. Object keys come sorted: the request's key order is not kept.
    static func value(_ json: JSONValue) -> TemplateValue {
        switch json {
        case .null: .none
        case .bool(let value): .bool(value)
        case .int(let value): .int(value)
        case .double(let value): .double(value)
        case .string(let value): .string(value)
        case .array(let values): .array(values.map(value))
        case .object(let fields): .dict(fields.keys.sorted().map { (key: $0, value: value(fields[$0]!)) })
        }
    }

    /// The demo model's template: ChatML.
    static let demoSource = """
        {% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}
        """
}
