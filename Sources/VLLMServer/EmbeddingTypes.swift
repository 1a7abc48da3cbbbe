import Foundation

/// `input` of an embeddings or pooling request: a string, strings, token ids, or lists of token ids.
enum EmbeddingInput: Decodable, Sendable {
    case texts([String])
    case tokens([[Int]])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            self = .texts([text])
        } else if let texts = try? container.decode([String].self) {
            self = .texts(texts)
        } else if let ids = try? container.decode([Int].self) {
            self = .tokens([ids])
        } else if let lists = try? container.decode([[Int]].self) {
            self = .tokens(lists)
        } else {
            throw DecodingError.typeMismatch(
                EmbeddingInput.self,
                .init(codingPath: decoder.codingPath,
                      debugDescription: "input must be a string, a list of strings, a list of token ids or a list of such lists"))
        }
    }

    var count: Int {
        switch self {
        case .texts(let texts): texts.count
        case .tokens(let lists): lists.count
        }
    }
}

/// `POST /v1/embeddings` and `POST /pooling`: OpenAI's EmbeddingCreateParams with vLLM's extras.
struct EmbeddingRequest: Decodable, Sendable {
    var model: String?
    var input: EmbeddingInput
    var encodingFormat: String?
    var dimensions: Int?
    var user: String?
    var truncatePromptTokens: Int?
    var addSpecialTokens: Bool?
    /// vLLM's: normalize the embedding (default: as the model's pooling says). (`normalize`, which vLLM removed,
    /// is refused by the route when the key is there at all.)
    var useActivation: Bool?

    enum CodingKeys: String, CodingKey {
        case model, input, dimensions, user
        case encodingFormat = "encoding_format"
        case truncatePromptTokens = "truncate_prompt_tokens"
        case addSpecialTokens = "add_special_tokens"
        case useActivation = "use_activation"
    }
}

/// One embedding: a float list, or (`encoding_format: "base64"`) its little-endian float32 bytes in base64.
enum EmbeddingVector: Encodable, Sendable {
    case floats([Float])
    case base64(String)

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .floats(let values): try container.encode(values)
        case .base64(let text): try container.encode(text)
        }
    }
}

/// vLLM's EmbeddingResponse (`object: "embedding"` items) and PoolingResponse (`object: "pooling"`, the
/// vector under `data`).
struct EmbeddingResponse: Encodable, Sendable {
    struct Item: Encodable, Sendable {
        var index: Int
        var object: String
        var vector: EmbeddingVector
        enum CodingKeys: String, CodingKey { case index, object, embedding, data }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(index, forKey: .index)
            try container.encode(object, forKey: .object)
            try container.encode(vector, forKey: object == "embedding" ? .embedding : .data)
        }
    }
    var id: String
    var object = "list"
    var created: Int
    var model: String
    var data: [Item]
    var usage: UsageInfo
}
