import Foundation
import VLLMCompute
import VLLMCore
import VLLMModels

/// A request that reached an `EmbeddingEngine` after `shutdown()` (a server answers 503).
public struct EmbeddingEngineStopped: Error, CustomStringConvertible {
    public init() {}
    public var description: String { "the embedding engine has shut down" }
}

/// What the server needs of a pooling model (`EmbeddingEngine` in the binary, a fake in router tests).
public protocol EmbeddingClient: Sendable {
    /// Longest input the model takes, in tokens.
    var maxModelLen: Int { get }
    /// Length of one embedding (a cross-encoder: its labels).
    var dimensions: Int { get }
    /// A cross-encoder (a reranker): its outputs are the scores of text pairs, not embeddings.
    var isCrossEncoder: Bool { get }
    /// vLLM's checks of a request's `dimensions` (Matryoshka truncation), throwing `VLLMValidationError`.
    func check(dimensions: Int, modelName: String) throws
    /// One output per sequence, in order: its embedding (finished as `options` and the model's pooling say), or a
    /// cross-encoder's scores of the pair the sequence holds (`tokenTypes`: the pair's segment ids). Throws
    /// `VLLMValidationError` for an input the model cannot take.
    func embed(_ sequences: [[Int]], tokenTypes: [[Int]]?, options: PoolingOptions) async throws -> [[Float]]
}

/// A request's say over its embeddings (vLLM's PoolingParams for the embed task): `dimensions` (Matryoshka
/// truncation, checked by `PoolingConfig.check`) and `use_activation` (normalize or not).
public struct PoolingOptions: Sendable, Equatable {
    public var dimensions: Int?
    public var useActivation: Bool?
    public init(dimensions: Int? = nil, useActivation: Bool? = nil) {
        self.dimensions = dimensions
        self.useActivation = useActivation
    }
}

extension EmbeddingClient {
    public var isCrossEncoder: Bool { false }
    public func embed(_ sequences: [[Int]], tokenTypes: [[Int]]? = nil) async throws -> [[Float]] {
        try await embed(sequences, tokenTypes: tokenTypes, options: PoolingOptions())
    }
}

/// Embeddings through an encoder (vLLM's pooling runner): whole sequences — an encoder attends both ways,
/// so nothing is chunked and no KV cache is kept — batched up to the token budget, then pooled as the
/// model folder says. One loop thread runs the model; requests from many clients share its batches.
public final class EmbeddingEngine: EmbeddingClient, @unchecked Sendable {
    // @unchecked: `model` is driven by the loop thread (or a caller of the synchronous `embedNow` alone);
    // the queue is guarded by `condition`.
    public let model: any EncoderModel
    public let poolingConfig: PoolingConfig
    public let maxNumBatchedTokens: Int
    /// The most sequences in one batch (a decoder's runner takes at most this many).
    public let maxNumSeqs: Int
    public let maxModelLen: Int
    public var dimensions: Int { model.head?.labels ?? model.config.hiddenSize }
    public var isCrossEncoder: Bool { model.head != nil }

    private struct Job {
        var sequences: [[Int]]
        var tokenTypes: [[Int]]?
        var options: PoolingOptions
        var done: (Result<[[Float]], any Error>) -> Void
    }
    private let condition = NSCondition()
    private var queue: [Job] = []
    private var isStopped = false
    private var thread: Thread?

    /// - Parameters:
    ///   - maxModelLen: `--max-model-len`; the model's own limit (its positions, sentence_bert_config's
    ///     max_seq_length) when nil or larger.
    public init(model: any EncoderModel, pooling: PoolingConfig, maxNumBatchedTokens: Int, maxNumSeqs: Int = 256,
                maxModelLen: Int? = nil) {
        self.model = model
        self.maxNumSeqs = maxNumSeqs
        self.poolingConfig = pooling
        let limit = min(model.config.maxSequenceLength, pooling.maxSeqLength ?? Int.max)
        self.maxModelLen = min(limit, maxModelLen ?? limit)
        self.maxNumBatchedTokens = max(maxNumBatchedTokens, self.maxModelLen)
    }

    /// Loads the embedding model of `directory` and its pooling: an encoder (BERT, XLM-RoBERTa, their
    /// cross-encoders), or a decoder of ModelRegistry's (Qwen3-Embedding's architecture) pooled at its last
    /// token unless the folder says otherwise.
    /// `poolerConfig`: vLLM's `--pooler-config` JSON over the folder's pooling (`PoolingConfig.applying`), its
    /// messages naming `modelName`.
    public static func load(directory: URL, backend: any Backend, format: LoadFormat = .safetensors, dtype: DType? = nil,
                            maxNumBatchedTokens: Int = 16384, maxModelLen: Int? = nil, poolerConfig: String? = nil,
                            modelName: String = "") throws -> EmbeddingEngine {
        func pooling(_ defaultMethod: PoolingConfig.Method, _ model: any EncoderModel) throws -> PoolingConfig {
            let folder = try PoolingConfig.load(modelDirectory: directory, defaultMethod: defaultMethod)
            guard let poolerConfig else { return folder }
            guard model.head == nil else {
                throw ModelError("--pooler-config: this is a cross-encoder; the pooler config applies to embedding models here")
            }
            return try folder.applying(poolerConfig: poolerConfig, embeddingSize: model.config.hiddenSize, modelName: modelName)
        }
        struct Peek: Decodable { var architectures: [String]? }
        let data = (try? Data(contentsOf: directory.appendingPathComponent("config.json"))) ?? Data()
        let architecture = (try? JSONDecoder().decode(Peek.self, from: data))?.architectures?.first
        if let architecture, ModelRegistry.supportedArchitectures.contains(architecture) {
            let budget = maxNumBatchedTokens
            let limit = min(maxModelLen ?? budget, budget)
            let causal = try ModelRegistry.load(directory: directory, backend: backend, format: format, maxModelLen: limit, dtype: dtype)
            let model = try DecoderEncoder(model: causal, maxNumBatchedTokens: budget, maxNumSeqs: 256)
            return EmbeddingEngine(model: model, pooling: try pooling(.last, model),
                                   maxNumBatchedTokens: budget, maxNumSeqs: 256, maxModelLen: limit)
        }
        let config = try EncoderConfig.load(modelDirectory: directory)
        let model = try BertEncoder(directory: directory, config: config, backend: backend, format: format, dtype: dtype)
        return EmbeddingEngine(model: model, pooling: try pooling(.cls, model),
                               maxNumBatchedTokens: maxNumBatchedTokens, maxModelLen: maxModelLen)
    }

    public func check(dimensions: Int, modelName: String) throws {
        var pooling = poolingConfig
        if model.head != nil { pooling.isMatryoshka = false }
        do {
            _ = try pooling.check(dimensions: dimensions, embeddingSize: self.dimensions, modelName: modelName)
        } catch {
            throw VLLMValidationError("\(error)", parameter: "dimensions")
        }
    }

    /// vLLM's checks of a pooling input: not empty, within the model's length, ids in the vocabulary (and
    /// token type ids, where given, one per token and within the model's types).
    public func validate(_ sequences: [[Int]], tokenTypes: [[Int]]? = nil, options: PoolingOptions = PoolingOptions()) throws {
        if let dimensions = options.dimensions { try check(dimensions: dimensions, modelName: "") }
        if let tokenTypes {
            guard tokenTypes.count == sequences.count, zip(tokenTypes, sequences).allSatisfy({ $0.count == $1.count }),
                  tokenTypes.joined().allSatisfy({ $0 >= 0 && $0 < model.config.typeVocabSize }) else {
                throw VLLMValidationError("token type ids must give one type in 0..<\(model.config.typeVocabSize) per token",
                                          parameter: "input")
            }
        }
        for sequence in sequences {
            guard !sequence.isEmpty else { throw VLLMValidationError("The prompt cannot be empty", parameter: "input") }
            guard sequence.count <= maxModelLen else {
                throw VLLMValidationError(
                    "This model's maximum context length is \(maxModelLen) tokens. However, you requested \(sequence.count) "
                        + "tokens in the input for embedding generation. Please reduce the length of the input.",
                    parameter: "input")
            }
            if let bad = sequence.first(where: { $0 < 0 || $0 >= model.config.vocabSize }) {
                throw VLLMValidationError("Token id \(bad) is out of vocabulary", parameter: "input")
            }
        }
    }

    /// The outputs of `sequences` on the caller's thread — embeddings finished as `options` say, or a
    /// cross-encoder's scores from its head over the first token — in batches of at most `maxNumBatchedTokens`
    /// tokens (offline use, tests; not while the loop runs).
    public func embedNow(_ sequences: [[Int]], tokenTypes: [[Int]]? = nil, options: PoolingOptions = PoolingOptions()) throws
        -> [[Float]]
    {
        try validate(sequences, tokenTypes: tokenTypes, options: options)
        return finish(try forward(sequences, tokenTypes: tokenTypes), options)
    }

    /// Pooled vectors as a request gets them (a cross-encoder's scores pass unchanged).
    private func finish(_ outputs: [[Float]], _ options: PoolingOptions) -> [[Float]] {
        guard model.head == nil else { return outputs }
        return outputs.map { poolingConfig.finish($0, dimensions: options.dimensions, useActivation: options.useActivation) }
    }

    /// The model over `sequences` in batches: pooled vectors before `finish`, or a cross-encoder's scores.
    private func forward(_ sequences: [[Int]], tokenTypes: [[Int]]?) throws -> [[Float]] {
        var vectors: [[Float]] = []
        var batch: [[Int32]] = [], types: [[Int32]] = [], tokens = 0
        let width = model.config.hiddenSize
        func flush() throws {
            guard !batch.isEmpty else { return }
            let encoded = try model.encode(batch, tokenTypes: types)
            var starts = [0]
            for sequence in batch { starts.append(starts.last! + sequence.count) }
            // CLS and last-token pooling, and a cross-encoder's head, read one row a sequence: those rows are
            // gathered on the device, so [S, H] comes back instead of every token's hidden state.
            let oneRow: [Int]? = model.head != nil || poolingConfig.method == .cls ? Array(starts.dropLast())
                : poolingConfig.method == .last ? starts.dropFirst().map { $0 - 1 } : nil
            let hidden: [Float]
            var rowStarts = starts
            if let oneRow {
                let backend = model.backend
                let rows = try backend.allocate(shape: [oneRow.count, width], dtype: encoded.dtype)
                try backend.gatherRows(encoded, indices: try backend.makeInt32(oneRow.map(Int32.init)), out: rows)
                hidden = try backend.downloadFloats(rows)
                rowStarts = Array(0...oneRow.count)
            } else {
                hidden = try model.backend.downloadFloats(encoded)
            }
            if let head = model.head {
                vectors += rowStarts.dropLast().map { head.scores(head.logits(hidden[($0 * width)..<(($0 + 1) * width)])) }
            } else {
                vectors += poolingConfig.poolRaw(hidden, width: width, starts: rowStarts)
            }
            batch = []
            types = []
            tokens = 0
        }
        for (s, sequence) in sequences.enumerated() {
            if tokens + sequence.count > maxNumBatchedTokens || batch.count == maxNumSeqs { try flush() }
            batch.append(sequence.map(Int32.init))
            types.append(tokenTypes?[s].map(Int32.init) ?? [Int32](repeating: 0, count: sequence.count))
            tokens += sequence.count
        }
        try flush()
        return vectors
    }

    /// Queues `sequences` for the loop thread, which batches them with other requests' up to the token
    /// budget; the embeddings come back in order.
    public func embed(_ sequences: [[Int]], tokenTypes: [[Int]]?, options: PoolingOptions) async throws -> [[Float]] {
        try validate(sequences, tokenTypes: tokenTypes, options: options)
        startIfNeeded()
        return try await withCheckedThrowingContinuation { continuation in
            condition.lock()
            defer { condition.unlock() }
            guard !isStopped else {
                continuation.resume(throwing: EmbeddingEngineStopped())
                return
            }
            queue.append(Job(sequences: sequences, tokenTypes: tokenTypes, options: options) { continuation.resume(with: $0) })
            condition.signal()
        }
    }

    /// Stops the loop thread once the queue is empty; later requests are refused.
    public func shutdown() {
        condition.lock()
        isStopped = true
        condition.broadcast()
        condition.unlock()
    }

    private func startIfNeeded() {
        condition.lock()
        defer { condition.unlock() }
        guard thread == nil, !isStopped else { return }
        let thread = Thread { [self] in loop() }
        thread.name = "swift-vllm.embedding"
        thread.start()
        self.thread = thread
    }

    /// Takes the waiting jobs that fit the token budget (at least one), runs them as one batch, answers each.
    private func loop() {
        while true {
            condition.lock()
            while queue.isEmpty && !isStopped { condition.wait() }
            if queue.isEmpty {
                condition.unlock()
                return
            }
            var jobs: [Job] = [queue.removeFirst()]
            var tokens = jobs[0].sequences.reduce(0) { $0 + $1.count }
            while let next = queue.first, tokens + next.sequences.reduce(0, { $0 + $1.count }) <= maxNumBatchedTokens {
                tokens += next.sequences.reduce(0) { $0 + $1.count }
                jobs.append(queue.removeFirst())
            }
            condition.unlock()
            do {
                let types = jobs.flatMap { job in job.tokenTypes ?? job.sequences.map { [Int](repeating: 0, count: $0.count) } }
                let vectors = try forward(jobs.flatMap(\.sequences), tokenTypes: types)  // each job was validated
                var offset = 0
                for job in jobs {
                    job.done(.success(finish(Array(vectors[offset..<offset + job.sequences.count]), job.options)))
                    offset += job.sequences.count
                }
            } catch {
                for job in jobs { job.done(.failure(error)) }
            }
        }
    }
}
