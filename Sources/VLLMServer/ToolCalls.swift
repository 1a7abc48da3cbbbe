import Foundation
import VLLMCore
import VLLMGrammar

/// `tool_choice` as vLLM reads it. "required" and a named function are enforced with a structured
/// output built from the tools' parameter schemas (vLLM's `get_json_schema_from_tools`), so the answer
/// always parses into tool calls; "auto" reads calls out of free text with the `--tool-call-parser`
/// (ToolCallParsing.swift), and without one answers in plain content, as vLLM does without
/// `--enable-auto-tool-choice`.
enum ToolChoice: Sendable, Equatable {
    case none, auto, required
    case named(String)

    /// Reads `tool_choice` against `tools` (the raw body's, key order kept).
    static func from(_ value: JSONValue?, tools: [SchemaValue]?) throws(OpenAIError) -> ToolChoice {
        let choice: ToolChoice
        switch value {
        case nil, .null?, .string("auto")?: choice = .auto
        case .string("none")?: choice = .none
        case .string("required")?: choice = .required
        case .object(let object)?:
            guard object["type"] == .string("function"), let name = object["function"]?.objectValue?["name"]?.stringValue else {
                throw .invalidBody(
                    "tool_choice must be \"none\", \"auto\", \"required\" or {\"type\": \"function\", \"function\": {\"name\": …}}.",
                    param: "tool_choice")
            }
            choice = .named(name)
        default:
            throw .invalidBody("tool_choice must be \"none\", \"auto\", \"required\" or a named function.", param: "tool_choice")
        }
        if choice == .required || choice.functionName != nil, tools?.isEmpty ?? true {
            throw .badRequest("When using `tool_choice`, `tools` must be set.", param: "tool_choice")
        }
        if let name = choice.functionName, !(tools ?? []).contains(where: { ToolChoice.name(of: $0) == name }) {
            throw .badRequest("Tool '\(name)' has not been passed in `tools`.", param: "tool_choice")
        }
        return choice
    }

    var functionName: String? { if case .named(let name) = self { name } else { nil } }

    static func name(of tool: SchemaValue) -> String? { tool["function"]?["name"].flatMap { if case .string(let s) = $0 { s } else { nil } } }

    /// The schema the output must follow: the named function's parameters, or for "required" an array of
    /// at least one `{"name": one of the tools, "parameters": its schema}` (nil: free text).
    func outputSchema(tools: [SchemaValue]) -> SchemaValue? {
        let emptyObject = SchemaValue.object([("type", .string("object")), ("properties", .object([]))])
        func parameters(_ tool: SchemaValue) -> SchemaValue { tool["function"]?["parameters"] ?? emptyObject }
        switch self {
        case .none, .auto:
            return nil
        case .named(let name):
            return tools.first { Self.name(of: $0) == name }.map(parameters)
        case .required:
            var definitions: [(key: String, value: SchemaValue)] = []
            var options: [SchemaValue] = []
            for tool in tools {
                guard let name = Self.name(of: tool) else { continue }
                var schema = parameters(tool)
                if case .object(var members) = schema {
                    if case .object(let defs)? = members.first(where: { $0.key == "$defs" })?.value {
                        for entry in defs where !definitions.contains(where: { $0.key == entry.key }) { definitions.append(entry) }
                    }
                    members.removeAll { $0.key == "$defs" }
                    schema = .object(members)
                }
                options.append(.object([
                    ("properties", .object([
                        ("name", .object([("type", .string("string")), ("enum", .array([.string(name)]))])),
                        ("parameters", schema),
                    ])),
                    ("required", .array([.string("name"), .string("parameters")])),
                ]))
            }
            var schema: [(key: String, value: SchemaValue)] = [
                ("type", .string("array")), ("minItems", .number("1")),
                ("items", .object([("type", .string("object")), ("anyOf", .array(options))])),
            ]
            if !definitions.isEmpty { schema.append(("$defs", .object(definitions))) }
            return .object(schema)
        }
    }
}

/// One tool call of a whole assistant message (vLLM's `ToolCall`).
struct ToolCallBody: Encodable, Sendable, Equatable {
    var id: String
    var name: String
    var arguments: String

    init(id: String = ToolCallBody.makeID(), name: String, arguments: String) {
        self.id = id
        self.name = name
        self.arguments = arguments
    }

    /// vLLM's `make_tool_call_id`.
    static func makeID() -> String { "chatcmpl-tool-" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased() }

    /// `MistralToolCall.generate_random_id`: Mistral's tool-call ids are 9 letters or digits.
    static func makeMistralID() -> String {
        let alphabet: [Character] = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        return String((0..<9).map { _ in alphabet.randomElement()! })
    }

    enum CodingKeys: String, CodingKey { case id, type, function }
    struct Function: Encodable { var name: String; var arguments: String }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode("function", forKey: .type)
        try container.encode(Function(name: name, arguments: arguments), forKey: .function)
    }

    static func == (lhs: ToolCallBody, rhs: ToolCallBody) -> Bool { lhs.name == rhs.name && lhs.arguments == rhs.arguments }

    /// `parallel_tool_calls: false` keeps the first call only, as vLLM's `maybe_filter_parallel_tool_calls` does.
    static func allowed(_ calls: [ToolCallBody], parallel: Bool?) -> [ToolCallBody] {
        parallel == false ? Array(calls.prefix(1)) : calls
    }
}

/// A piece of a tool call in a streamed delta (vLLM's `DeltaToolCall`): the call's `index`, and `id`, `type`, a
/// `name` or an `arguments` piece as the parser sends them. vLLM writes some absent fields as `null`
/// (`"name": null` in "required"'s later pieces); they are left out here — a client reads both alike.
struct DeltaToolCall: Encodable, Sendable, Equatable {
    var index: Int
    var id: String?
    var type: String?
    var name: String?
    var arguments: String?

    enum CodingKeys: String, CodingKey { case id, type, index, function }
    enum FunctionKeys: String, CodingKey { case name, arguments }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(id, forKey: .id)
        try container.encodeIfPresent(type, forKey: .type)
        try container.encode(index, forKey: .index)
        if name != nil || arguments != nil {
            var function = container.nestedContainer(keyedBy: FunctionKeys.self, forKey: .function)
            try function.encodeIfPresent(name, forKey: .name)
            try function.encodeIfPresent(arguments, forKey: .arguments)
        }
    }

    /// `parallel_tool_calls: false` keeps the pieces of the call of index 0, as vLLM does in a stream.
    static func allowed(_ calls: [DeltaToolCall], parallel: Bool?) -> [DeltaToolCall] {
        parallel == false ? calls.filter { $0.index == 0 } : calls
    }
}

/// What tool-call parsing makes of one streamed delta (vLLM's `DeltaMessage`, less the role and reasoning):
/// content, tool-call pieces, or both.
struct ToolCallsDelta: Sendable, Equatable {
    var content: String?
    var toolCalls: [DeltaToolCall] = []
}
