import FoundationEssentials
import VLLMCompute

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// config.json of a BERT-family encoder (BertModel, XLMRobertaModel), as transformers' BertConfig /
/// XLMRobertaConfig read it.
public struct EncoderConfig: Sendable, Equatable {
    public var architecture: String
    public var modelType: String
    public var vocabSize: Int
    public var hiddenSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var intermediateSize: Int
    public var maxPositionEmbeddings: Int
    public var typeVocabSize: Int
    public var layerNormEps: Float
    public var padTokenId: Int
    public var dtype: DType?
    /// Labels of a sequence-classification head (a cross-encoder); 0 for a plain encoder.
    public var numLabels: Int

    /// The architectures this file builds: encoders, and the cross-encoders (rerankers) on top of them.
    public static let architectures = ["BertModel", "XLMRobertaModel", "BertForSequenceClassification",
                                       "XLMRobertaForSequenceClassification"]
    public var isClassifier: Bool { architecture.hasSuffix("ForSequenceClassification") }

    /// XLM-RoBERTa numbers positions from `padTokenId + 1` (transformers' create_position_ids_from_input_ids
    /// for an unpadded sequence); BERT from 0.
    public var firstPosition: Int { modelType == "xlm-roberta" ? padTokenId + 1 : 0 }
    /// The longest sequence the position table holds.
    public var maxSequenceLength: Int { maxPositionEmbeddings - firstPosition }

    public static func load(modelDirectory: URL) throws -> EncoderConfig {
        let url = modelDirectory.appendingPathComponent("config.json")
        guard let data = try? Data(contentsOf: url) else {
            throw ModelError("\(url.path): missing or unreadable (a HuggingFace model folder needs config.json)")
        }
        return try parse(data, path: url.path)
    }

    public static func parse(_ data: Data, path: String = "config.json") throws -> EncoderConfig {
        struct Raw: Decodable {
            var architectures: [String]?
            var model_type: String?
            var vocab_size: Int?
            var hidden_size: Int?
            var num_hidden_layers: Int?
            var num_attention_heads: Int?
            var intermediate_size: Int?
            var max_position_embeddings: Int?
            var type_vocab_size: Int?
            var layer_norm_eps: Float?
            var pad_token_id: Int?
            var hidden_act: String?
            var position_embedding_type: String?
            var torch_dtype: String?
            var dtype: String?
            var num_labels: Int?
            var id2label: [String: String]?
        }
        let raw: Raw
        do {
            raw = try JSONDecoder().decode(Raw.self, from: data)
        } catch {
            throw ModelError("\(path): not a valid config.json: \(ModelConfig.describe(error))")
        }
        let architecture = raw.architectures?.first ?? "(none)"
        guard architectures.contains(architecture) else {
            throw ModelError("\(path): architecture '\(architecture)' is not an encoder this build runs; encoders: \(architectures.joined(separator: ", "))")
        }
        let modelType = raw.model_type ?? (architecture.hasPrefix("XLMRoberta") ? "xlm-roberta" : "bert")
        guard raw.hidden_act ?? "gelu" == "gelu" else {
            throw ModelError("\(path): hidden_act '\(raw.hidden_act!)' is not supported for \(architecture); supported: gelu")
        }
        guard raw.position_embedding_type ?? "absolute" == "absolute" else {
            throw ModelError("\(path): position_embedding_type '\(raw.position_embedding_type!)' is not supported; supported: absolute")
        }
        let config = EncoderConfig(
            architecture: architecture, modelType: modelType, vocabSize: raw.vocab_size ?? 30522,
            hiddenSize: raw.hidden_size ?? 768, numHiddenLayers: raw.num_hidden_layers ?? 12,
            numAttentionHeads: raw.num_attention_heads ?? 12, intermediateSize: raw.intermediate_size ?? 3072,
            maxPositionEmbeddings: raw.max_position_embeddings ?? 512, typeVocabSize: raw.type_vocab_size ?? 2,
            layerNormEps: raw.layer_norm_eps ?? 1e-12, padTokenId: raw.pad_token_id ?? (modelType == "xlm-roberta" ? 1 : 0),
            dtype: (raw.dtype ?? raw.torch_dtype).flatMap(DType.init(configName:)),
            numLabels: architecture.hasSuffix("ForSequenceClassification") ? raw.id2label?.count ?? raw.num_labels ?? 2 : 0)
        for (name, value) in [("hidden_size", config.hiddenSize), ("num_hidden_layers", config.numHiddenLayers),
                              ("num_attention_heads", config.numAttentionHeads), ("intermediate_size", config.intermediateSize),
                              ("vocab_size", config.vocabSize), ("type_vocab_size", config.typeVocabSize),
                              ("max_position_embeddings", config.maxSequenceLength)] where value <= 0 {
            throw ModelError("\(path): \(name) must be positive, got \(value)")
        }
        guard !config.isClassifier || config.numLabels >= 1 else {
            throw ModelError("\(path): a sequence classifier needs at least one label")
        }
        guard config.hiddenSize % config.numAttentionHeads == 0 else {
            throw ModelError("\(path): hidden_size (\(config.hiddenSize)) must be a multiple of num_attention_heads (\(config.numAttentionHeads))")
        }
        return config
    }
}

extension EncoderConfig {
    /// The view of a decoder (an embedding model over a causal LM) the embedding engine needs: its sizes and
    /// the longest sequence it takes.
    public init(decoder c: ModelConfig, maxSequenceLength: Int) {
        self.init(architecture: c.architectures.first ?? c.modelType, modelType: c.modelType, vocabSize: c.vocabSize,
                  hiddenSize: c.hiddenSize, numHiddenLayers: c.numHiddenLayers, numAttentionHeads: c.numAttentionHeads,
                  intermediateSize: c.intermediateSize, maxPositionEmbeddings: maxSequenceLength, typeVocabSize: 1,
                  layerNormEps: c.rmsNormEps, padTokenId: 0, dtype: c.dtype, numLabels: 0)
    }

}

/// A model that turns whole sequences into one hidden state per token (an encoder, for embeddings).
public protocol EncoderModel: AnyObject, Sendable {
    var config: EncoderConfig { get }
    var backend: any Backend { get }
    /// A cross-encoder's classification head; nil for a plain encoder.
    var head: ClassificationHead? { get }
    /// The last hidden states [T, H] (backend dtype) of `sequences`, their tokens in order; `tokenTypes`
    /// (segment ids) of each, all 0 when nil.
    func encode(_ sequences: [[Int32]], tokenTypes: [[Int32]]?) throws -> Tensor
}

/// BertModel and XLMRobertaModel (post-LayerNorm encoder, GELU MLP, absolute positions, token types),
/// reading side by side with transformers' modeling_bert.py. Q, K and V are one GEMM.
public final class BertEncoder: EncoderModel {
    public let config: EncoderConfig
    public let backend: any Backend

    struct Layer {
        var qkv: Tensor, qkvBias: Tensor                 // [3H, H], [3H]: query, key, value
        var attentionOut: Tensor, attentionOutBias: Tensor
        var attentionNorm: Tensor, attentionNormBias: Tensor
        var intermediate: Tensor, intermediateBias: Tensor  // [I, H]
        var output: Tensor, outputBias: Tensor            // [H, I]
        var outputNorm: Tensor, outputNormBias: Tensor
    }

    let wordEmbeddings: Tensor      // [V, H]
    let positionEmbeddings: Tensor  // [P, H]
    let tokenTypeEmbeddings: Tensor // [types, H]
    let embeddingNorm: Tensor, embeddingNormBias: Tensor
    let layers: [Layer]
    /// A cross-encoder's classification head over the first token, on the host (a few small matrices).
    public let head: ClassificationHead?

    /// Loads the encoder of `directory` (weights named as BertModel / XLMRobertaModel save them, with or
    /// without the `bert.` / `roberta.` prefix of the task models).
    public init(directory: URL?, config: EncoderConfig, backend: any Backend, format: LoadFormat = .safetensors,
                dtype: DType? = nil) throws {
        self.config = config
        self.backend = backend
        let loader = try WeightLoader(backend: backend, directory: directory, format: format,
                                      dtype: dtype ?? config.dtype ?? .float32)
        let prefix = ["", "bert.", "roberta."].first { loader.contains($0 + "embeddings.word_embeddings.weight") } ?? ""
        let h = config.hiddenSize, inter = config.intermediateSize
        func load(_ name: String, _ shape: [Int]) throws -> Tensor { try loader.load(prefix + name, shape: shape) }
        wordEmbeddings = try load("embeddings.word_embeddings.weight", [config.vocabSize, h])
        positionEmbeddings = try load("embeddings.position_embeddings.weight", [config.maxPositionEmbeddings, h])
        tokenTypeEmbeddings = try load("embeddings.token_type_embeddings.weight", [config.typeVocabSize, h])
        embeddingNorm = try load("embeddings.LayerNorm.weight", [h])
        embeddingNormBias = try load("embeddings.LayerNorm.bias", [h])
        layers = try (0..<config.numHiddenLayers).map { i in
            let p = prefix + "encoder.layer.\(i)."
            return Layer(
                qkv: try loader.loadConcatenated([(p + "attention.self.query.weight", [h, h], nil),
                                                  (p + "attention.self.key.weight", [h, h], nil),
                                                  (p + "attention.self.value.weight", [h, h], nil)]),
                qkvBias: try loader.loadConcatenated([(p + "attention.self.query.bias", [h], nil), (p + "attention.self.key.bias", [h], nil),
                                                      (p + "attention.self.value.bias", [h], nil)]),
                attentionOut: try loader.load(p + "attention.output.dense.weight", shape: [h, h]),
                attentionOutBias: try loader.load(p + "attention.output.dense.bias", shape: [h]),
                attentionNorm: try loader.load(p + "attention.output.LayerNorm.weight", shape: [h]),
                attentionNormBias: try loader.load(p + "attention.output.LayerNorm.bias", shape: [h]),
                intermediate: try loader.load(p + "intermediate.dense.weight", shape: [inter, h]),
                intermediateBias: try loader.load(p + "intermediate.dense.bias", shape: [inter]),
                output: try loader.load(p + "output.dense.weight", shape: [h, inter]),
                outputBias: try loader.load(p + "output.dense.bias", shape: [h]),
                outputNorm: try loader.load(p + "output.LayerNorm.weight", shape: [h]),
                outputNormBias: try loader.load(p + "output.LayerNorm.bias", shape: [h]))
        }
        if config.isClassifier {
            func host(_ name: String, _ shape: [Int]) throws -> [Float] { try backend.downloadFloats(try loader.load(name, shape: shape)) }
            let labels = config.numLabels
            // BertForSequenceClassification: the pooler (dense + tanh), then `classifier`; XLMRoberta…: the
            // head's own dense + tanh, then `out_proj`.
            let isBert = config.modelType != "xlm-roberta"
            let dense = isBert ? prefix + "pooler.dense." : "classifier.dense."
            let out = isBert ? "classifier." : "classifier.out_proj."
            head = ClassificationHead(hidden: h, labels: labels, dense: try host(dense + "weight", [h, h]),
                                      denseBias: try host(dense + "bias", [h]), out: try host(out + "weight", [labels, h]),
                                      outBias: try host(out + "bias", [labels]))
        } else {
            head = nil
        }
    }

    public func encode(_ sequences: [[Int32]], tokenTypes: [[Int32]]?) throws -> Tensor {
        let b = backend, h = config.hiddenSize, heads = config.numAttentionHeads, d = h / heads
        let tokens = sequences.reduce(0) { $0 + $1.count }
        guard tokens > 0, !sequences.contains(where: \.isEmpty) else { throw ModelError("encode: an empty sequence") }
        var ids: [Int32] = [], positions: [Int32] = [], types: [Int32] = [], starts: [Int32] = [0]
        for (s, sequence) in sequences.enumerated() {
            guard sequence.count <= config.maxSequenceLength else {
                throw ModelError("encode: a sequence of \(sequence.count) tokens; the model takes at most \(config.maxSequenceLength)")
            }
            guard sequence.allSatisfy({ $0 >= 0 && Int($0) < config.vocabSize }) else {
                throw ModelError("encode: token ids outside the vocabulary of \(config.vocabSize)")
            }
            let segment = tokenTypes?[s] ?? [Int32](repeating: 0, count: sequence.count)
            guard segment.count == sequence.count, segment.allSatisfy({ $0 >= 0 && Int($0) < config.typeVocabSize }) else {
                throw ModelError("encode: token type ids of sequence \(s) do not match it (\(config.typeVocabSize) types)")
            }
            ids += sequence
            types += segment
            positions += (0..<sequence.count).map { Int32(config.firstPosition + $0) }
            starts.append(Int32(ids.count))
        }
        let act = b.activationDType
        let idTensor = try b.makeInt32(ids), positionTensor = try b.makeInt32(positions)
        let typeTensor = try b.makeInt32(types), startTensor = try b.makeInt32(starts)
        let hidden = try b.allocate(shape: [tokens, h], dtype: act)
        let scratch = try b.allocate(shape: [tokens, h], dtype: act)
        try b.embedding(tokenIds: idTensor, table: wordEmbeddings, out: hidden)
        try b.embedding(tokenIds: positionTensor, table: positionEmbeddings, out: scratch)
        try b.add(hidden, scratch, out: hidden)
        try b.embedding(tokenIds: typeTensor, table: tokenTypeEmbeddings, out: scratch)
        try b.layerNorm(hidden, residual: scratch, weight: embeddingNorm, bias: embeddingNormBias, epsilon: config.layerNormEps, out: hidden)

        let qkv = try b.allocate(shape: [tokens, 3 * h], dtype: act)
        let attention = try b.allocate(shape: [tokens, h], dtype: act)
        let intermediate = try b.allocate(shape: [tokens, config.intermediateSize], dtype: act)
        let maxLen = sequences.map(\.count).max()!, scale = 1 / Float(d).squareRoot()
        for layer in layers {
            try b.linear(hidden, weight: layer.qkv, bias: layer.qkvBias, out: qkv)
            try b.encoderAttention(qkv: qkv, queryStartLoc: startTensor, numSeqs: sequences.count, maxSeqLen: maxLen,
                                   numHeads: heads, headSize: d, scale: scale, out: attention)
            try b.linear(attention, weight: layer.attentionOut, bias: layer.attentionOutBias, out: scratch)
            try b.layerNorm(scratch, residual: hidden, weight: layer.attentionNorm, bias: layer.attentionNormBias,
                            epsilon: config.layerNormEps, out: hidden)
            try b.linear(hidden, weight: layer.intermediate, bias: layer.intermediateBias, out: intermediate)
            try b.gelu(intermediate, out: intermediate)
            try b.linear(intermediate, weight: layer.output, bias: layer.outputBias, out: scratch)
            try b.layerNorm(scratch, residual: hidden, weight: layer.outputNorm, bias: layer.outputNormBias,
                            epsilon: config.layerNormEps, out: hidden)
        }
        return hidden
    }
}

/// A sequence classifier's head over the first token's hidden state: `out · tanh(dense · x + b) + b'`
/// (transformers' BertPooler + classifier, and XLMRobertaClassificationHead), in f32 on the host.
public struct ClassificationHead: Sendable {
    public let hidden: Int, labels: Int
    let dense: [Float], denseBias: [Float], out: [Float], outBias: [Float]

    /// The logits of one first-token hidden state.
    public func logits(_ x: ArraySlice<Float>) -> [Float] {
        let x = Array(x)
        var pooled = [Float](repeating: 0, count: hidden)
        for i in 0..<hidden {
            var sum = denseBias[i]
            for k in 0..<hidden { sum += dense[i * hidden + k] * x[k] }
            pooled[i] = tanhf(sum)
        }
        var logits = [Float](repeating: 0, count: labels)
        for j in 0..<labels {
            var sum = outBias[j]
            for k in 0..<hidden { sum += out[j * hidden + k] * pooled[k] }
            logits[j] = sum
        }
        return logits
    }

    /// Scores as vLLM's (and sentence-transformers' CrossEncoder's) default activation gives them: the
    /// sigmoid of a single label's logit, else the softmax over the labels.
    public func scores(_ logits: [Float]) -> [Float] {
        if logits.count == 1 { return [1 / (1 + expf(-logits[0]))] }
        let top = logits.max() ?? 0
        let exps = logits.map { expf($0 - top) }
        let sum = exps.reduce(0, +)
        return exps.map { $0 / sum }
    }
}

/// How a sequence's hidden states become one vector, as sentence-transformers' modules say (modules.json,
/// 1_Pooling/config.json, sentence_bert_config.json) or vLLM's defaults where a folder says nothing.
public struct PoolingConfig: Sendable, Equatable {
    public enum Method: String, Sendable, Equatable { case cls = "CLS", mean = "MEAN", last = "LAST" }
    public var method: Method
    /// An L2 normalisation after pooling (the Normalize module; vLLM normalizes embeddings by default).
    public var normalize: Bool
    /// `max_seq_length` of sentence_bert_config.json: the longest input vLLM takes for the model.
    public var maxSeqLength: Int?
    /// Matryoshka embeddings (config.json's `is_matryoshka`, or a `matryoshka_dimensions` list): a request may ask
    /// for fewer `dimensions` — any, or one of the list where there is one.
    public var isMatryoshka = false
    public var matryoshkaDimensions: [Int]?
    /// `dimensions` of `--pooler-config`: the length of every embedding a request does not set its own.
    public var dimensions: Int?

    public init(method: Method, normalize: Bool, maxSeqLength: Int? = nil) {
        self.method = method
        self.normalize = normalize
        self.maxSeqLength = maxSeqLength
    }

    /// vLLM's check of an embedding request's `dimensions` (PoolingParams), its messages word for word.
    public func check(dimensions: Int, embeddingSize: Int, modelName: String) throws -> Int {
        guard isMatryoshka else {
            throw ModelError("Model '\(modelName)' does not support Matryoshka embeddings; dimensions must be unset "
                             + "(received dimensions=\(dimensions)).")
        }
        guard (1...embeddingSize).contains(dimensions) else {
            throw ModelError("Model '\(modelName)' only supports dimensions in range [1, \(embeddingSize)], got \(dimensions).")
        }
        if let list = matryoshkaDimensions, !list.contains(dimensions) {
            throw ModelError("Model '\(modelName)' only supports Matryoshka dimensions \(list), got \(dimensions).")
        }
        return dimensions
    }

    /// A pooled vector as a request gets it, in vLLM's order: the first `dimensions` values (a Matryoshka
    /// request's, else `--pooler-config`'s), then L2-normalized where `useActivation` (the request's
    /// `use_activation`, else the model's Normalize) says so.
    public func finish(_ pooled: [Float], dimensions requested: Int? = nil, useActivation: Bool? = nil) -> [Float] {
        var vector = pooled
        if let keep = requested ?? dimensions, keep >= 1, keep < vector.count { vector = Array(vector.prefix(keep)) }
        if useActivation ?? normalize {
            let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
            if norm > 0 { vector = vector.map { $0 / max(norm, 1e-12) } }
        }
        return vector
    }

    /// The pooling of `directory`: from its sentence-transformers files when present; else CLS and
    /// normalized (vLLM's default for encoder embedding models). Matryoshka from config.json.
    public static func load(modelDirectory directory: URL, defaultMethod: Method = .cls) throws -> PoolingConfig {
        struct Module: Decodable { var path: String?; var type: String? }
        struct Pooling: Decodable {
            var pooling_mode_cls_token: Bool?
            var pooling_mode_mean_tokens: Bool?
            var pooling_mode_lasttoken: Bool?
            var pooling_mode_max_tokens: Bool?
            var pooling_mode_mean_sqrt_len_tokens: Bool?
        }
        struct SentenceBert: Decodable { var max_seq_length: Int? }
        var config = PoolingConfig(method: defaultMethod, normalize: true)
        let modulesURL = directory.appendingPathComponent("modules.json")
        if let data = try? Data(contentsOf: modulesURL) {
            let modules: [Module]
            do { modules = try JSONDecoder().decode([Module].self, from: data) } catch {
                throw ModelError("\(modulesURL.path): not a sentence-transformers modules list: \(ModelConfig.describe(error))")
            }
            config.normalize = modules.contains { $0.type?.hasSuffix("Normalize") == true }
            if let pooling = modules.first(where: { $0.type?.hasSuffix("Pooling") == true }) {
                let url = directory.appendingPathComponent(pooling.path ?? "1_Pooling").appendingPathComponent("config.json")
                guard let data = try? Data(contentsOf: url), let raw = try? JSONDecoder().decode(Pooling.self, from: data) else {
                    throw ModelError("\(url.path): missing or not a sentence-transformers pooling config")
                }
                if raw.pooling_mode_max_tokens == true || raw.pooling_mode_mean_sqrt_len_tokens == true {
                    throw ModelError("\(url.path): max and mean-sqrt-len pooling are not supported (supported: CLS, mean, last token)")
                }
                if raw.pooling_mode_cls_token == true {
                    config.method = .cls
                } else if raw.pooling_mode_mean_tokens == true {
                    config.method = .mean
                } else if raw.pooling_mode_lasttoken == true {
                    config.method = .last
                } else {
                    throw ModelError("\(url.path): no pooling mode is set")
                }
            }
        }
        let sentenceBertURL = directory.appendingPathComponent("sentence_bert_config.json")
        if let data = try? Data(contentsOf: sentenceBertURL) {
            config.maxSeqLength = try? JSONDecoder().decode(SentenceBert.self, from: data).max_seq_length
        }
        struct Matryoshka: Decodable { var is_matryoshka: Bool?; var matryoshka_dimensions: [Int]? }
        let configURL = directory.appendingPathComponent("config.json")
        if let data = try? Data(contentsOf: configURL) {
            let declared: Matryoshka
            do { declared = try JSONDecoder().decode(Matryoshka.self, from: data) } catch {
                throw ModelError("\(configURL.path): is_matryoshka must be true or false and matryoshka_dimensions a list "
                                 + "of integers: \(ModelConfig.describe(error))")
            }
            config.matryoshkaDimensions = declared.matryoshka_dimensions
            config.isMatryoshka = declared.is_matryoshka == true || !(declared.matryoshka_dimensions ?? []).isEmpty
        }
        return config
    }

    /// One vector per sequence from its hidden states `rows[start ..< end]` of `hidden` ([T, H] floats, row-major),
    /// pooled and then finished with the model's defaults (`finish`).
    public func pool(_ hidden: [Float], width: Int, starts: [Int]) -> [[Float]] {
        poolRaw(hidden, width: width, starts: starts).map { finish($0) }
    }

    /// The pooled vectors before `finish`: neither truncated nor normalized.
    public func poolRaw(_ hidden: [Float], width: Int, starts: [Int]) -> [[Float]] {
        (0..<(starts.count - 1)).map { s in
            let (begin, end) = (starts[s], starts[s + 1])
            var vector = [Float](repeating: 0, count: width)
            switch method {
            case .cls: for i in 0..<width { vector[i] = hidden[begin * width + i] }
            case .last: for i in 0..<width { vector[i] = hidden[(end - 1) * width + i] }
            case .mean:
                for t in begin..<end { for i in 0..<width { vector[i] += hidden[t * width + i] } }
                for i in 0..<width { vector[i] /= Float(end - begin) }
            }
            return vector
        }
    }
}
