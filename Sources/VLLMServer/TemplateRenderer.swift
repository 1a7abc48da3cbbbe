import Foundation
import VLLMTemplates

/// A chat template as the server needs it.
public struct TemplateRenderer: ChatRenderer {
    public let template: ChatTemplate

    public init(template: ChatTemplate) { self.template = template }

    public func render(messages: [JSONValue], addGenerationPrompt: Bool, tools: [JSONValue]?, extra: [String: JSONValue],
                requestBody: Data?) throws -> String
    {
        // The raw request, read keeping key order, orders every object as the client sent it.
        let ordered = requestBody.flatMap { try? TemplateValue(json: $0) }
        func twin(_ key: String, _ index: Int?) -> TemplateValue? {
            guard case .array(let items)? = ordered?[key], let index, index < items.count else { return ordered?[key] }
            return items[index]
        }
        return try template.render(
            messages: messages.enumerated().map { Self.value($0.element, like: twin("messages", $0.offset)) },
            addGenerationPrompt: addGenerationPrompt,
            tools: tools.map { $0.enumerated().map { Self.value($0.element, like: twin("tools", $0.offset)) } },
            extra: Dictionary(uniqueKeysWithValues: extra.map { ($0.key, Self.value($0.value, like: ordered?["chat_template_kwargs"]?[$0.key])) }))
    }

    /// JSON → template value. Object keys follow `twin` (the same value as the client sent it, order
    /// kept) where it has them; keys it lacks (added by normalization) follow, sorted.
    static func value(_ json: JSONValue, like twin: TemplateValue? = nil) -> TemplateValue {
        switch json {
        case .null: return .none
        case .bool(let value): return .bool(value)
        case .int(let value): return .int(value)
        case .double(let value): return .double(value)
        case .string(let value): return .string(value)
        case .array(let values):
            var twins: [TemplateValue] = []
            if case .array(let items)? = twin { twins = items }
            return .array(values.enumerated().map { value($0.element, like: $0.offset < twins.count ? twins[$0.offset] : nil) })
        case .object(let fields):
            var order: [String] = []
            if case .dict(let pairs)? = twin { order = pairs.map(\.key).filter { fields[$0] != nil } }
            order += fields.keys.filter { !order.contains($0) }.sorted()
            return .dict(order.map { (key: $0, value: value(fields[$0]!, like: twin?[$0])) })
        }
    }

    /// The demo model's template: ChatML.
    public static let demoSource = """
        {% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}
        """
}
