import Foundation

/// A model's chat template, parsed once, rendered per request exactly as transformers'
/// `apply_chat_template` renders it with Python jinja2 (ImmutableSandboxedEnvironment, trim_blocks,
/// lstrip_blocks, loop controls, its own `tojson`, `raise_exception`, `strftime_now`, `{% generation %}`).
public struct ChatTemplate: Sendable {
    /// The template text as given.
    public let source: String
    /// Context variables passed on every render (the tokenizer's `bos_token`, `eos_token`, …).
    public var specialTokens: [String: TemplateValue]
    let nodes: [Node]

    /// Parses `source`; a syntax error is `TemplateError.syntax` with its line and column.
    public init(source: String, specialTokens: [String: TemplateValue] = [:]) throws {
        self.source = source
        self.specialTokens = specialTokens
        var parser = try Parser(source: source)
        nodes = try parser.parseTemplate()
    }

    /// Renders a conversation. `tools` and `documents` are `None` in the template when nil (as in
    /// transformers); `extra` keys (e.g. `enable_thinking`) are passed as they are and override the special
    /// tokens. `now`/`timeZone` feed `strftime_now`.
    public func render(
        messages: [TemplateValue], addGenerationPrompt: Bool, tools: [TemplateValue]? = nil,
        documents: [TemplateValue]? = nil, extra: [String: TemplateValue] = [:], now: Date = Date(),
        timeZone: TimeZone = .current
    ) throws -> String {
        var context: [String: TemplateValue] = specialTokens
        for (key, value) in extra { context[key] = value }
        context["messages"] = .array(messages)
        context["tools"] = tools.map { .array($0) } ?? TemplateValue.none
        context["documents"] = documents.map { .array($0) } ?? TemplateValue.none
        context["add_generation_prompt"] = .bool(addGenerationPrompt)
        return try render(context: context, now: now, timeZone: timeZone)
    }

    /// Renders with exactly `context` as the template's variables.
    public func render(context: [String: TemplateValue], now: Date = Date(), timeZone: TimeZone = .current) throws
        -> String
    {
        let interpreter = Interpreter(now: now, timeZone: timeZone)
        defer { interpreter.finish() }
        let root = interpreter.makeScope(parent: interpreter.globals)
        for (key, value) in context { root.variables[key] = value.value }
        try interpreter.execute(nodes, root)
        return interpreter.output
    }
}
