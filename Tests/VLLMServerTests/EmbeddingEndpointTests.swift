import Foundation
import Testing
import VLLMCore
import VLLMEngine
import VLLMServer

/// A pooling model for the router: the embedding of a sequence is [its length, its first id, its last id,
/// the sum of its ids]; inputs past `maxModelLen` are refused as EmbeddingEngine refuses them.
struct FakeEmbedder: EmbeddingClient {
    var maxModelLen = 16
    var dimensions: Int { 4 }
    /// Matryoshka at 2 (and 4): `dimensions` keeps the first values, `use_activation: false` negates them (so a
    /// test sees both options arrive).
    var matryoshka = false
    func check(dimensions: Int, modelName: String) throws {
        guard matryoshka, [2, 4].contains(dimensions) else {
            throw VLLMValidationError("\(modelName) takes dimensions 2 or 4, got \(dimensions)", parameter: "dimensions")
        }
    }
    func embed(_ sequences: [[Int]], tokenTypes: [[Int]]?, options: PoolingOptions) async throws -> [[Float]] {
        for sequence in sequences where sequence.count > maxModelLen {
            throw VLLMValidationError("This model's maximum context length is \(maxModelLen) tokens.", parameter: "input")
        }
        return sequences.map {
            let vector = [Float($0.count), Float($0.first ?? 0), Float($0.last ?? 0), Float($0.reduce(0, +))]
            return vector.prefix(options.dimensions ?? 4).map { options.useActivation == false ? -$0 : $0 }
        }
    }
}

/// `POST /v1/embeddings` and `/pooling` in OpenAI's and vLLM's shapes; tasks a served model lacks are 404s.
@Suite struct EmbeddingEndpointTests {
    let harness = TestHarness(embedder: FakeEmbedder())

    @Test func embeddingsOfStringsAndTokenIds() async throws {
        try await harness.test { client in
            let reply = try await client.post("/v1/embeddings", #"{"model": "fake-model", "input": ["ab", "c"]}"#)
            #expect(reply.status == 200)
            let json = reply.json
            #expect(json["object"] as? String == "list" && json["model"] as? String == "fake-model")
            #expect((json["id"] as? String)?.hasPrefix("embd-") == true)
            let data = json["data"] as? [[String: Any]] ?? []
            #expect(data.map { $0["index"] as? Int } == [0, 1] && data.allSatisfy { $0["object"] as? String == "embedding" })
            // FakeTokenizer: BOS (1), then scalar + 3: "ab" → [1, 100, 101], "c" → [1, 102].
            #expect(data[0]["embedding"] as? [Double] == [3, 1, 101, 202])
            #expect(data[1]["embedding"] as? [Double] == [2, 1, 102, 103])
            let usage = json["usage"] as? [String: Any] ?? [:]
            #expect(usage["prompt_tokens"] as? Int == 5 && usage["total_tokens"] as? Int == 5 && usage["completion_tokens"] as? Int == 0)

            let ids = try await client.post("/v1/embeddings", #"{"input": [[5, 6, 7], [9]]}"#).json["data"] as? [[String: Any]]
            #expect(ids?.map { $0["embedding"] as? [Double] } == [[3, 5, 7, 18], [1, 9, 9, 9]])
            let one = try await client.post("/v1/embeddings", #"{"input": [4, 4], "add_special_tokens": false}"#).json
            #expect((one["data"] as? [[String: Any]])?.first?["embedding"] as? [Double] == [2, 4, 4, 8])
        }
    }

    /// `encoding_format: "base64"`: the little-endian float32 bytes, as the openai client decodes them.
    @Test func base64IsLittleEndianFloat32() async throws {
        try await harness.test { client in
            let json = try await client.post("/v1/embeddings", #"{"input": "ab", "encoding_format": "base64"}"#).json
            let text = (json["data"] as? [[String: Any]])?.first?["embedding"] as? String ?? ""
            let bytes = [UInt8](Data(base64Encoded: text) ?? Data())
            let floats = stride(from: 0, to: bytes.count, by: 4).map { i in
                Float(bitPattern: UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24)
            }
            #expect(floats == [3, 1, 101, 202])
        }
    }

    @Test func poolingAndTruncation() async throws {
        try await harness.test { client in
            let json = try await client.post("/pooling", #"{"input": [[1, 2, 3, 4, 5]], "truncate_prompt_tokens": 2}"#).json
            let item = (json["data"] as? [[String: Any]])?.first ?? [:]
            #expect((json["id"] as? String)?.hasPrefix("pooling-") == true && item["object"] as? String == "pooling")
            #expect(item["data"] as? [Double] == [2, 4, 5, 9])  // vLLM keeps the last tokens
        }
    }

    @Test func badEmbeddingRequests() async throws {
        try await harness.test { client in
            for (body, status, fragment) in [
                (#"{"input": "ab", "dimensions": 2}"#, 400, "fake-model takes dimensions 2 or 4, got 2"),
                (#"{"input": "ab", "normalize": true}"#, 400, "Parameter `normalize` was removed; use `use_activation` instead."),
                (#"{"input": "ab", "normalize": null}"#, 400, "Parameter `normalize` was removed; use `use_activation` instead."),
                (#"{"input": "ab", "encoding_format": "int8"}"#, 400, "encoding_format"),
                (#"{"input": []}"#, 400, "input must not be empty"),
                (#"{"input": {"text": 1}}"#, 400, "input"),
                (#"{"input": [[1, -4]]}"#, 400, "out of vocabulary"),
                (#"{"input": [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]]}"#, 400, "maximum context length"),
                (#"{"input": [[1, 2]], "truncate_prompt_tokens": 0}"#, 400, "truncate_prompt_tokens"),
                (#"{"input": "ab", "model": "other"}"#, 404, "does not exist"),
            ] {
                let reply = try await client.post("/v1/embeddings", body)
                #expect(reply.status == status, "\(body)")
                #expect(reply.errorMessage.contains(fragment), "\(body): \(reply.errorMessage)")
            }
            let after = try await client.post("/v1/embeddings", #"{"input": "ab"}"#)
            #expect(after.status == 200)
        }
    }

    /// `dimensions` and `use_activation` reach the model; a dimension the model refuses is a 400 with its words.
    @Test func matryoshkaOptionsReachTheModel() async throws {
        try await TestHarness(embedder: FakeEmbedder(matryoshka: true)).test { client in
            let truncated = try await client.post("/v1/embeddings", #"{"input": [[5, 6, 7]], "dimensions": 2}"#).json
            #expect((truncated["data"] as? [[String: Any]])?.first?["embedding"] as? [Double] == [3, 5])
            let raw = try await client.post("/v1/embeddings", #"{"input": [[5, 6, 7]], "use_activation": false}"#).json
            #expect((raw["data"] as? [[String: Any]])?.first?["embedding"] as? [Double] == [-3, -5, -7, -18])
            let refused = try await client.post("/v1/embeddings", #"{"input": [[5]], "dimensions": 3}"#)
            #expect(refused.status == 400 && refused.errorMessage == "fake-model takes dimensions 2 or 4, got 3")
        }
    }

    /// A pooling model answers the generation routes with a 404 naming what it serves, and a generation
    /// model the embedding routes.
    @Test func tasksTheModelLacksAre404s() async throws {
        try await harness.test { client in
            for path in ["/v1/completions", "/v1/chat/completions"] {
                let reply = try await client.post(path, #"{"model": "fake-model", "prompt": "x", "messages": [{"role": "user", "content": "x"}]}"#)
                #expect(reply.status == 404 && reply.errorMessage.contains("it serves: embed"), "\(path): \(reply.errorMessage)")
            }
        }
        try await TestHarness().test { client in
            for path in ["/v1/embeddings", "/pooling"] {
                let reply = try await client.post(path, #"{"input": "x"}"#)
                #expect(reply.status == 404 && reply.errorMessage.contains("it serves: generate"), "\(path): \(reply.errorMessage)")
            }
        }
    }
}

/// `/score` and `/rerank` on an embedding model: cosines of embeddings, paired 1:N or N:N, as vLLM pairs them.
@Suite struct ScoreEndpointTests {
    let harness = TestHarness(embedder: FakeEmbedder())

    /// The cosine of FakeEmbedder's vectors of two texts, computed here independently.
    static func expected(_ a: String, _ b: String) -> Double {
        func vector(_ text: String) -> [Double] {
            let ids = [1] + text.unicodeScalars.map { Int($0.value) + 3 }
            return [Double(ids.count), Double(ids[0]), Double(ids.last!), Double(ids.reduce(0, +))]
        }
        let (x, y) = (vector(a), vector(b))
        let dot = zip(x, y).map(*).reduce(0, +)
        return dot / ((x.map { $0 * $0 }.reduce(0, +)).squareRoot() * (y.map { $0 * $0 }.reduce(0, +)).squareRoot())
    }

    @Test func scoresPairsOneToManyAndPairwise() async throws {
        try await harness.test { client in
            let one = try await client.post("/score", #"{"text_1": "ab", "text_2": ["c", "abc"]}"#).json
            #expect((one["id"] as? String)?.hasPrefix("score-") == true && one["object"] as? String == "list")
            let data = one["data"] as? [[String: Any]] ?? []
            #expect(data.map { $0["object"] as? String } == ["score", "score"])
            for (item, second) in zip(data, ["c", "abc"]) {
                #expect(abs((item["score"] as? Double ?? 0) - Self.expected("ab", second)) < 1e-6)
            }
            // Tokens as vLLM counts a pair: both sides and a padding token: (3 + 1 + 2) + (3 + 1 + 4).
            #expect((one["usage"] as? [String: Any])?["prompt_tokens"] as? Int == 14)
            let pairs = try await client.post("/v1/score", #"{"queries": ["ab", "x"], "documents": ["c", "y"]}"#).json
            let scores = (pairs["data"] as? [[String: Any]] ?? []).map { $0["score"] as? Double ?? 0 }
            #expect(abs(scores[0] - Self.expected("ab", "c")) < 1e-6 && abs(scores[1] - Self.expected("x", "y")) < 1e-6)
            let bad = try await client.post("/score", #"{"text_1": ["a", "b"], "text_2": ["c", "d", "e"]}"#)
            #expect(bad.status == 400 && bad.errorMessage == "Input lengths must be either 1:1, 1:N or N:N")
            let missing = try await client.post("/score", #"{"text_1": "a"}"#)
            #expect(missing.status == 400)
        }
    }

    @Test func rerankSortsByRelevanceAndKeepsTopN() async throws {
        try await harness.test { client in
            let documents = ["a", "abcdef", "ab", "zzzz"]
            let json = try await client.post("/v2/rerank", #"{"query": "abc", "documents": ["a", "abcdef", "ab", "zzzz"], "top_n": 2}"#).json
            let results = json["results"] as? [[String: Any]] ?? []
            let order = documents.indices.sorted { Self.expected("abc", documents[$0]) > Self.expected("abc", documents[$1]) }
            #expect(results.map { $0["index"] as? Int } == order.prefix(2).map { $0 })
            #expect((results.first?["document"] as? [String: Any])?["text"] as? String == documents[order[0]])
            #expect(results.allSatisfy { $0["relevance_score"] is Double })
            let usage = json["usage"] as? [String: Any] ?? [:]
            #expect(usage["prompt_tokens"] as? Int == usage["total_tokens"] as? Int)
            let all = try await client.post("/rerank", #"{"query": "abc", "documents": ["a", "b", "c"]}"#).json
            #expect((all["results"] as? [Any])?.count == 3)
        }
        try await TestHarness().test { client in
            let reply = try await client.post("/rerank", #"{"query": "a", "documents": ["b"]}"#)
            #expect(reply.status == 404 && reply.errorMessage.contains("Rerank API"))
        }
    }
}
