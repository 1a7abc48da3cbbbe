import Foundation
import VLLMCore

// Shapes shared by the completion and chat endpoints, field for field as OpenAI's and vLLM's
// (`vllm/entrypoints/openai/protocol.py`). Responses encode `null` where vLLM's pydantic models do,
// so a client that reads `choice["logprobs"]` finds the key.

/// Token counts of a request: vLLM's `UsageInfo`.
public struct UsageInfo: Codable, Sendable, Equatable {
    public var promptTokens: Int
    public var totalTokens: Int
    public var completionTokens: Int
    /// Prompt tokens found in the prefix cache, when asked for.
    public var promptTokensDetails: PromptTokensDetails?

    /// `prompt_tokens_details`: how much of the prompt the prefix cache served.
    public struct PromptTokensDetails: Codable, Sendable, Equatable {
        public var cachedTokens: Int?
        enum CodingKeys: String, CodingKey { case cachedTokens = "cached_tokens" }
    }

    public init(promptTokens: Int, completionTokens: Int) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.totalTokens = promptTokens + completionTokens
    }

    enum CodingKeys: String, CodingKey {
        case promptTokens = "prompt_tokens"
        case totalTokens = "total_tokens"
        case completionTokens = "completion_tokens"
        case promptTokensDetails = "prompt_tokens_details"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(promptTokens, forKey: .promptTokens)
        try container.encode(totalTokens, forKey: .totalTokens)
        try container.encode(completionTokens, forKey: .completionTokens)
        try container.encode(promptTokensDetails, forKey: .promptTokensDetails)
    }
}

/// `stream_options`.
public struct StreamOptions: Codable, Sendable, Equatable {
    public var includeUsage: Bool?
    public var continuousUsageStats: Bool?

    enum CodingKeys: String, CodingKey {
        case includeUsage = "include_usage"
        case continuousUsageStats = "continuous_usage_stats"
    }
}

/// `stop`: a string or a list of strings.
/// A field of the wrong type where the field takes several: the message says every form it takes.
struct FieldTypeError: Error {
    var codingPath: [any CodingKey]
    var expected: String
}

struct StopParam: Decodable, Sendable, Equatable {
    var values: [String]

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let single = try? container.decode(String.self) {
            values = [single]
        } else if let list = try? container.decode([String].self) {
            values = list
        } else {
            throw FieldTypeError(codingPath: decoder.codingPath, expected: "a string or a list of strings")
        }
    }
}

/// The completion endpoint's `prompt`: a string, a list of strings, token ids, or lists of token ids.
enum PromptInput: Decodable, Sendable, Equatable {
    case text(String)
    case tokens([Int])

    /// Decodes the four forms into one list of prompts.
    struct List: Decodable, Sendable, Equatable {
        var prompts: [PromptInput]

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            let path = decoder.codingPath
            if let single = try? container.decode(String.self) {
                prompts = [.text(single)]
            } else if let ids = try? container.decode([Int].self) {
                prompts = [.tokens(ids)]
            } else if let texts = try? container.decode([String].self) {
                prompts = texts.map { .text($0) }
            } else if let lists = try? container.decode([[Int]].self) {
                prompts = lists.map { .tokens($0) }
            } else {
                throw DecodingError.typeMismatch(
                    String.self,
                    .init(
                        codingPath: path,
                        debugDescription:
                            "prompt must be a string, a list of strings, a list of token ids or a list of lists of token ids"
                    ))
            }
        }
    }

    init(from decoder: any Decoder) throws {
        self = try List(from: decoder).prompts.first ?? .text("")
    }
}

/// `stop_reason`: the stop string or stop token that ended a sequence, else `null`.
struct StopReasonValue: Encodable, Sendable, Equatable {
    var reason: StopReason?

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch reason {
        case .none: try container.encodeNil()
        case .tokenId(let id): try container.encode(id)
        case .string(let text): try container.encode(text)
        }
    }
}

/// One entry of `GET /v1/models`: vLLM's `ModelCard`.
struct ModelCard: Encodable, Sendable {
    var id: String
    var object = "model"
    var created: Int
    var ownedBy = "vllm"
    var root: String
    var parent: String? = nil
    /// nil (JSON null) for an adapter's card.
    var maxModelLen: Int?
    var permission: [ModelPermission]

    enum CodingKeys: String, CodingKey {
        case id, object, created, root, parent, permission
        case ownedBy = "owned_by"
        case maxModelLen = "max_model_len"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(object, forKey: .object)
        try container.encode(created, forKey: .created)
        try container.encode(ownedBy, forKey: .ownedBy)
        try container.encode(root, forKey: .root)
        try container.encode(parent, forKey: .parent)
        try container.encode(maxModelLen, forKey: .maxModelLen)
        try container.encode(permission, forKey: .permission)
    }
}

/// vLLM's `ModelPermission`, with its defaults.
struct ModelPermission: Encodable, Sendable {
    var id: String
    var object = "model_permission"
    var created: Int
    var allowCreateEngine = false
    var allowSampling = true
    var allowLogprobs = true
    var allowSearchIndices = false
    var allowView = true
    var allowFineTuning = false
    var organization = "*"
    var group: String? = nil
    var isBlocking = false

    enum CodingKeys: String, CodingKey {
        case id, object, created, organization, group
        case allowCreateEngine = "allow_create_engine"
        case allowSampling = "allow_sampling"
        case allowLogprobs = "allow_logprobs"
        case allowSearchIndices = "allow_search_indices"
        case allowView = "allow_view"
        case allowFineTuning = "allow_fine_tuning"
        case isBlocking = "is_blocking"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(object, forKey: .object)
        try container.encode(created, forKey: .created)
        try container.encode(allowCreateEngine, forKey: .allowCreateEngine)
        try container.encode(allowSampling, forKey: .allowSampling)
        try container.encode(allowLogprobs, forKey: .allowLogprobs)
        try container.encode(allowSearchIndices, forKey: .allowSearchIndices)
        try container.encode(allowView, forKey: .allowView)
        try container.encode(allowFineTuning, forKey: .allowFineTuning)
        try container.encode(organization, forKey: .organization)
        try container.encode(group, forKey: .group)
        try container.encode(isBlocking, forKey: .isBlocking)
    }
}

/// `GET /v1/models`.
struct ModelList: Encodable, Sendable {
    var object = "list"
    var data: [ModelCard]
}

/// A random id in vLLM's form (`random_uuid()`: 32 hex digits).
func randomRequestID() -> String {
    UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
}
