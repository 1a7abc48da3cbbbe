import Foundation
import VLLMCore
import VLLMGrammar

/// `tool_choice` as vLLM reads it. "required" and a named function are enforced with a structured
/// output built from the tools' parameter schemas (vLLM's `get_json_schema_from_tools`), so the answer
/// always parses into tool calls; "auto" needs a model-specific tool-call parser (not here yet), so it
/// answers in plain content, as vLLM does without `--enable-auto-tool-choice`.
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

    /// The tool calls an output under this choice holds: the named function with the whole output as
    /// its arguments, or each `{name, parameters}` of a "required" array (arguments as Python's
    /// `json.dumps(…, ensure_ascii=False)` writes them, as vLLM does).
    func toolCalls(in text: String) -> [ToolCallBody]? {
        switch self {
        case .none, .auto:
            return nil
        case .named(let name):
            return [ToolCallBody(name: name, arguments: text)]
        case .required:
            guard case .array(let items)? = try? SchemaValue.parse(text) else { return [] }
            return items.compactMap { item in
                guard let name = item["name"].flatMap({ if case .string(let s) = $0 { s } else { nil } }),
                      let parameters = item["parameters"] else { return nil }
                return ToolCallBody(name: name, arguments: parameters.pythonJSON)
            }
        }
    }
}

/// One tool call of an assistant message (vLLM's `ToolCall`).
struct ToolCallBody: Encodable, Sendable, Equatable {
    var id = "chatcmpl-tool-" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    var name: String
    var arguments: String
    /// In a streamed delta, the call's position in the message.
    var index: Int?
    /// A streamed piece of a call an earlier delta began: only `index` and `function.arguments` are sent (as vLLM
    /// streams a named function's arguments).
    var continuesCall = false

    init(name: String, arguments: String) {
        self.name = name
        self.arguments = arguments
    }

    enum CodingKeys: String, CodingKey { case index, id, type, function }
    struct Function: Encodable { var name: String; var arguments: String }
    struct Arguments: Encodable { var arguments: String }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(index, forKey: .index)
        if continuesCall {
            try container.encode(Arguments(arguments: arguments), forKey: .function)
            return
        }
        try container.encode(id, forKey: .id)
        try container.encode("function", forKey: .type)
        try container.encode(Function(name: name, arguments: arguments), forKey: .function)
    }

    static func == (lhs: ToolCallBody, rhs: ToolCallBody) -> Bool { lhs.name == rhs.name && lhs.arguments == rhs.arguments }

    /// `parallel_tool_calls: false` keeps the first call only (in a stream, the call of index 0), as vLLM does.
    static func allowed(_ calls: [ToolCallBody], parallel: Bool?) -> [ToolCallBody] {
        guard parallel == false else { return calls }
        return calls.isEmpty || calls[0].index != nil ? calls.filter { ($0.index ?? 0) == 0 } : [calls[0]]
    }
}
