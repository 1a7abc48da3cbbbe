import Foundation
import VLLMCore
import VLLMGrammar

/// The request fields that constrain an output, as vLLM 0.26 reads them — `structured_outputs`
/// `{json, regex, choice, grammar, json_object, disable_any_whitespace}` and OpenAI's `response_format`
/// (`json_object`, `json_schema`) — plus the `guided_json`, `guided_regex`, `guided_choice` and
/// `guided_grammar` fields vLLM has dropped but deployments still send (accepted as aliases: a
/// deliberate departure, docs/structured-outputs.md).
struct StructuredOutputFields: Decodable, Sendable {
    struct ResponseFormat: Decodable, Sendable {
        struct JSONSchemaSpec: Decodable, Sendable {
            var name: String?
            var schema: SchemaField?
            var strict: Bool?
        }
        var type: String
        var jsonSchema: JSONSchemaSpec?

        enum CodingKeys: String, CodingKey {
            case type
            case jsonSchema = "json_schema"
        }
    }

    /// vLLM's `StructuredOutputsParams`.
    struct Params: Decodable, Sendable {
        var json: SchemaField?
        var regex: String?
        var choice: [String]?
        var grammar: String?
        var jsonObject: Bool?
        var disableAnyWhitespace: Bool?
        var whitespacePattern: String?
        var structuralTag: String?

        enum CodingKeys: String, CodingKey {
            case json, regex, choice, grammar
            case jsonObject = "json_object"
            case disableAnyWhitespace = "disable_any_whitespace"
            case whitespacePattern = "whitespace_pattern"
            case structuralTag = "structural_tag"
        }
    }

    var responseFormat: ResponseFormat?
    var structuredOutputs: Params?
    var guidedJson: SchemaField?
    var guidedRegex: String?
    var guidedChoice: [String]?
    var guidedGrammar: String?
    var guidedWhitespacePattern: String?

    enum CodingKeys: String, CodingKey {
        case responseFormat = "response_format"
        case structuredOutputs = "structured_outputs"
        case guidedJson = "guided_json"
        case guidedRegex = "guided_regex"
        case guidedChoice = "guided_choice"
        case guidedGrammar = "guided_grammar"
        case guidedWhitespacePattern = "guided_whitespace_pattern"
    }

    static let none = StructuredOutputFields()
    private init() {}

    /// The one constraint the request asks for (nil: free text), as vLLM resolves the fields:
    /// `structured_outputs` first, else `response_format`; the `guided_*` aliases where neither is set.
    func resolved() throws(OpenAIError) -> StructuredOutputs? {
        let params: Params
        let field: String
        if let structuredOutputs {
            params = structuredOutputs
            field = "structured_outputs"
        } else if let responseFormat {
            switch responseFormat.type {
            case "text": return nil
            case "json_object": return .jsonObject()
            case "json_schema":
                guard let schema = responseFormat.jsonSchema?.schema else {
                    throw .badRequest("response_format of type 'json_schema' needs `json_schema.schema`.",
                                      param: "response_format")
                }
                return .json(schema.text)
            default:
                throw .badRequest(
                    "response_format type '\(responseFormat.type)' is not supported: use 'text', 'json_object' or 'json_schema'.",
                    param: "response_format")
            }
        } else {
            params = Params(json: guidedJson, regex: guidedRegex, choice: guidedChoice, grammar: guidedGrammar,
                            whitespacePattern: guidedWhitespacePattern)
            field = "guided_*"
        }
        if params.whitespacePattern != nil {
            throw .badRequest("whitespace_pattern is not supported (as with vLLM's xgrammar backend); "
                              + "set disable_any_whitespace to allow no whitespace.", param: field)
        }
        if params.structuralTag != nil {
            throw .badRequest("structural_tag is not supported by this server.", param: field)
        }
        let anyWhitespace = !(params.disableAnyWhitespace ?? false)
        var kinds: [StructuredOutputs] = []
        if let json = params.json { kinds.append(.json(json.text, anyWhitespace: anyWhitespace)) }
        if let regex = params.regex { kinds.append(.regex(regex)) }
        if let choice = params.choice { kinds.append(.choice(choice)) }
        if let grammar = params.grammar { kinds.append(.grammar(grammar)) }
        if params.jsonObject == true { kinds.append(.jsonObject(anyWhitespace: anyWhitespace)) }
        if kinds.count > 1 {
            throw .badRequest("You can only use one kind of structured outputs constraint but multiple are specified.",
                              param: field)
        }
        if kinds.isEmpty && structuredOutputs != nil {
            throw .badRequest("You must use one kind of structured outputs constraint but none are specified.", param: field)
        }
        return kinds.first
    }
}

extension StructuredOutputFields.Params {
    init(json: SchemaField?, regex: String?, choice: [String]?, grammar: String?, whitespacePattern: String?) {
        self.json = json
        self.regex = regex
        self.choice = choice
        self.grammar = grammar
        self.whitespacePattern = whitespacePattern
    }
}

/// A JSON Schema in a request — an object, or a string holding one — as JSON text with its keys in the
/// order the client wrote them (the output's properties follow that order), read from the raw body.
struct SchemaField: Decodable, Sendable {
    var text: String

    init(from decoder: any Decoder) throws {
        let value = try JSONValue(from: decoder)
        switch value {
        case .string(let text):
            self.text = text
        case .object, .bool:
            if let body = decoder.userInfo[.requestBody] as? Data,
                let ordered = try? SchemaValue.parse(String(decoding: body, as: UTF8.self)).value(at: decoder.codingPath.map {
                    $0.intValue.map(SchemaValue.PathComponent.index) ?? .key($0.stringValue)
                })
            {
                text = ordered.compactJSON
            } else {
                text = JSONCoding.encodeString(value)
            }
        default:
            throw FieldTypeError(codingPath: decoder.codingPath, expected: "a JSON Schema (an object, or a string holding one)")
        }
    }
}

extension CodingUserInfoKey {
    /// The request body being decoded (after `DuplicateKeys.lastWins`), for fields that need its key order.
    static let requestBody = CodingUserInfoKey(rawValue: "swift-vllm.requestBody")!
}
