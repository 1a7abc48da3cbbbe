import Foundation
import VLLMCore
import VLLMEngine

/// `text_1`/`text_2` (and vLLM's other spellings of the two sides) of a score request: one string or a list.
enum ScoreSide: Decodable, Sendable {
    case one(String)
    case many([String])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            self = .one(text)
        } else if let texts = try? container.decode([String].self) {
            self = .many(texts)
        } else {
            throw DecodingError.typeMismatch(
                ScoreSide.self, .init(codingPath: decoder.codingPath, debugDescription: "a string or a list of strings"))
        }
    }

    var texts: [String] {
        switch self {
        case .one(let text): [text]
        case .many(let texts): texts
        }
    }
}

/// `POST /score`: vLLM's ScoreRequest in any of its spellings — text_1/text_2, queries/documents,
/// queries/items, data_1/data_2.
struct ScoreRequest: Decodable, Sendable {
    var model: String?
    var first: ScoreSide
    var second: ScoreSide
    var truncatePromptTokens: Int?

    enum CodingKeys: String, CodingKey {
        case model, queries, documents, items
        case text1 = "text_1", text2 = "text_2", data1 = "data_1", data2 = "data_2"
        case truncatePromptTokens = "truncate_prompt_tokens"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        model = try container.decodeIfPresent(String.self, forKey: .model)
        truncatePromptTokens = try container.decodeIfPresent(Int.self, forKey: .truncatePromptTokens)
        let pairs: [(CodingKeys, CodingKeys)] = [(.text1, .text2), (.queries, .documents), (.queries, .items), (.data1, .data2)]
        guard let (a, b) = pairs.first(where: { container.contains($0.0) && container.contains($0.1) }) else {
            throw DecodingError.keyNotFound(
                CodingKeys.text1, .init(codingPath: decoder.codingPath,
                                        debugDescription: "a score request needs text_1 and text_2 (or queries and documents)"))
        }
        first = try container.decode(ScoreSide.self, forKey: a)
        second = try container.decode(ScoreSide.self, forKey: b)
    }
}

/// `POST /rerank` (also /v1/rerank, /v2/rerank): Jina's and Cohere's shape, as vLLM takes it.
struct RerankRequest: Decodable, Sendable {
    var model: String?
    var query: String
    var documents: ScoreSide
    var topN: Int?
    var truncatePromptTokens: Int?

    enum CodingKeys: String, CodingKey {
        case model, query, documents
        case topN = "top_n"
        case truncatePromptTokens = "truncate_prompt_tokens"
    }
}

struct ScoreResponse: Encodable, Sendable {
    struct Item: Encodable, Sendable {
        var index: Int
        var object = "score"
        var score: Float
    }
    var id: String
    var object = "list"
    var created: Int
    var model: String
    var data: [Item]
    var usage: UsageInfo
}

struct RerankResponse: Encodable, Sendable {
    struct Result: Encodable, Sendable {
        struct Document: Encodable, Sendable { var text: String }
        var index: Int
        var document: Document
        var relevanceScore: Float
        enum CodingKeys: String, CodingKey {
            case index, document
            case relevanceScore = "relevance_score"
        }
    }
    struct Usage: Encodable, Sendable {
        var promptTokens: Int
        var totalTokens: Int
        enum CodingKeys: String, CodingKey {
            case promptTokens = "prompt_tokens"
            case totalTokens = "total_tokens"
        }
    }
    var id: String
    var model: String
    var usage: Usage
    var results: [Result]
}

/// Scores of text pairs: on an embedding model the cosine of their embeddings, as vLLM scores a
/// bi-encoder; on a cross-encoder (a reranker) its head's score of the pair read as one sequence.
extension OpenAIServing {
    public func score(body: Data) async -> ServingResponse {
        await serve { () async throws(OpenAIError) -> ServingResponse in
            guard let embedder = model.embedder else { throw unsupported("Score API") }
            let request = try JSONCoding.decodeRequest(ScoreRequest.self, from: body)
            try checkModel(request.model)
            let (first, second) = (request.first.texts, request.second.texts)
            let scored = try await pairScores(first, second, embedder: embedder, truncate: request.truncatePromptTokens)
            let items = scored.scores.enumerated().map { ScoreResponse.Item(index: $0, score: $1) }
            return .ok(ScoreResponse(id: Self.requestId("score"), created: Self.now(), model: model.primaryName, data: items,
                                     usage: UsageInfo(promptTokens: scored.tokens, completionTokens: 0)))
        }
    }

    public func rerank(body: Data) async -> ServingResponse {
        await serve { () async throws(OpenAIError) -> ServingResponse in
            guard let embedder = model.embedder else { throw unsupported("Rerank API") }
            let request = try JSONCoding.decodeRequest(RerankRequest.self, from: body)
            try checkModel(request.model)
            if let topN = request.topN, topN < 0 { throw .badRequest("top_n must be at least 0, got \(topN)", param: "top_n") }
            let documents = request.documents.texts
            let scored = try await pairScores([request.query], documents, embedder: embedder,
                                              truncate: request.truncatePromptTokens)
            var results = scored.scores.enumerated().map { index, score in
                RerankResponse.Result(index: index, document: .init(text: documents[index]), relevanceScore: score)
            }
            // vLLM sorts by relevance (a stable sort of the pairs in order), then keeps top_n (0: all).
            results = results.enumerated().sorted { ($0.element.relevanceScore, -$0.offset) > ($1.element.relevanceScore, -$1.offset) }
                .map(\.element)
            if let topN = request.topN, topN > 0, topN < results.count { results = Array(results.prefix(topN)) }
            return .ok(RerankResponse(id: Self.requestId("score"), model: model.primaryName,
                                      usage: .init(promptTokens: scored.tokens, totalTokens: scored.tokens), results: results))
        }
    }

    static func requestId(_ prefix: String) -> String {
        "\(prefix)-\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))"
    }

    /// The score of each pair — one first text against every second (1:N), or pairwise (N:N) — and the
    /// tokens counted as vLLM counts them: a cross-encoder's joined pair, or a bi-encoder's two texts and a
    /// padding token between them.
    private func pairScores(_ first: [String], _ second: [String], embedder: any EmbeddingClient, truncate: Int?)
        async throws(OpenAIError) -> (scores: [Float], tokens: Int)
    {
        guard !first.isEmpty else { throw .badRequest("At least one text element must be given", param: "text_1") }
        guard !second.isEmpty else { throw .badRequest("At least one text_pair element must be given", param: "text_2") }
        guard first.count == 1 || first.count == second.count else {
            throw .badRequest("Input lengths must be either 1:1, 1:N or N:N", param: "text_1")
        }
        let limit = try truncationLimit(truncate, embedder: embedder)
        if embedder.isCrossEncoder {
            guard embedder.dimensions == 1 else {
                throw .badRequest("scoring needs a cross-encoder of one label; this one has \(embedder.dimensions)")
            }
            var sequences: [[Int]] = [], types: [[Int]] = []
            for j in second.indices {
                let pair: (ids: [Int], typeIds: [Int])
                do { pair = try tokenizer.encodePair(first[first.count == 1 ? 0 : j], second[j]) } catch {
                    throw .badRequest("The pair could not be tokenized: \(error)", param: "text_2")
                }
                sequences.append(limit.map { Array(pair.ids.suffix($0)) } ?? pair.ids)
                types.append(limit.map { Array(pair.typeIds.suffix($0)) } ?? pair.typeIds)
            }
            let outputs = try await run(embedder, sequences, tokenTypes: types)
            return (outputs.map { $0[0] }, sequences.reduce(0) { $0 + $1.count })
        }
        var sequences: [[Int]] = []
        for text in first + second { sequences.append(try tokenize(text, addSpecialTokens: true)) }
        if let limit { sequences = sequences.map { Array($0.suffix(limit)) } }
        let vectors = try await run(embedder, sequences, tokenTypes: nil)
        var scores: [Float] = [], tokens = 0
        for j in 0..<second.count {
            let i = first.count == 1 ? 0 : j
            let (a, b) = (vectors[i], vectors[first.count + j])
            let dot = zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
            let norms = max((a.reduce(0) { $0 + $1 * $1 }).squareRoot() * (b.reduce(0) { $0 + $1 * $1 }).squareRoot(), 1e-8)
            scores.append(dot / norms)
            tokens += sequences[i].count + 1 + sequences[first.count + j].count
        }
        return (scores, tokens)
    }
}
