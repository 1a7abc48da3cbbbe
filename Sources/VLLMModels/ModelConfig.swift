import FoundationEssentials
import VLLMCompute

/// config.json of a HuggingFace decoder model, with transformers' defaults filled in for the keys a
/// partial config leaves out (per `model_type`, as each transformers config class defines them).
public struct ModelConfig: Sendable, Equatable {
    public var architectures: [String]
    public var modelType: String
    public var vocabSize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var numKeyValueHeads: Int
    public var headDim: Int
    public var maxPositionEmbeddings: Int
    public var rmsNormEps: Float
    public var rope: RopeParameters
    /// Bias on q/k/v projections (Qwen2 always; Llama's `attention_bias`).
    public var attentionBias: Bool
    /// Bias on o_proj too (Llama's `attention_bias` covers o_proj; Qwen2 has none there).
    public var outputBias: Bool
    public var mlpBias: Bool
    /// Per-head RMSNorm on q and k before rotary (Qwen3).
    public var qkNorm: Bool
    public var tieWordEmbeddings: Bool
    public var hiddenAct: String
    public var bosTokenId: Int?
    public var eosTokenIds: [Int]
    /// The checkpoint's dtype (`torch_dtype` / `dtype`), if it says.
    public var dtype: DType?
    /// How the linear layers are quantized (`quantization_config`, AutoGPTQ's quantize_config.json, or
    /// `--quantization fp8`); nil for a float checkpoint.
    public var quantization: QuantizationConfig?

    /// Reads and validates `config.json`; `path` is only used in error messages. `quantizeConfig` is
    /// AutoGPTQ's quantize_config.json beside it, read when config.json has no quantization_config.
    public static func parse(_ data: Data, path: String = "config.json",
                             quantizeConfig: (data: Data, path: String)? = nil) throws -> ModelConfig {
        let raw: RawConfig
        do {
            raw = try JSONDecoder().decode(RawConfig.self, from: data)
        } catch {
            throw ModelError("\(path): not a valid config.json: \(Self.describe(error))")
        }
        var config = try ModelConfig(raw, path: path)
        config.quantization = try QuantizationConfig.parse(configData: data, path: path, sidecar: quantizeConfig)
        return config
    }

    public static func load(modelDirectory: URL) throws -> ModelConfig {
        let url = modelDirectory.appendingPathComponent("config.json")
        guard let data = try? Data(contentsOf: url) else {
            throw ModelError("\(url.path): missing or unreadable (a HuggingFace model folder needs config.json)")
        }
        let sidecar = modelDirectory.appendingPathComponent("quantize_config.json")
        return try parse(data, path: url.path,
                         quantizeConfig: (try? Data(contentsOf: sidecar)).map { ($0, sidecar.path) })
    }

    private init(_ raw: RawConfig, path: String) throws {
        let modelType = raw.model_type ?? Self.modelType(forArchitecture: raw.architectures?.first)
        guard let modelType, let defaults = Self.defaults[modelType] else {
            throw ModelError("\(path): model_type \(raw.model_type.map { "'\($0)'" } ?? "(missing)") is not supported; supported: \(Self.defaults.keys.sorted().joined(separator: ", "))")
        }
        architectures = raw.architectures ?? [defaults.architecture]
        self.modelType = modelType
        vocabSize = raw.vocab_size ?? defaults.vocabSize
        hiddenSize = raw.hidden_size ?? 4096
        intermediateSize = raw.intermediate_size ?? defaults.intermediateSize
        numHiddenLayers = raw.num_hidden_layers ?? 32
        numAttentionHeads = raw.num_attention_heads ?? 32
        numKeyValueHeads = raw.num_key_value_heads ?? (modelType == "mistral" ? 8 : numAttentionHeads)
        headDim = raw.head_dim ?? (modelType == "qwen3" ? 128 : hiddenSize / max(numAttentionHeads, 1))
        maxPositionEmbeddings = raw.max_position_embeddings ?? defaults.maxPositionEmbeddings
        rmsNormEps = raw.rms_norm_eps ?? 1e-6
        attentionBias = modelType == "qwen2" ? true : (raw.attention_bias ?? false)
        outputBias = modelType == "qwen2" ? false : (raw.attention_bias ?? false)
        mlpBias = raw.mlp_bias ?? false
        qkNorm = modelType == "qwen3"
        tieWordEmbeddings = raw.tie_word_embeddings ?? false
        hiddenAct = raw.hidden_act ?? "silu"
        bosTokenId = raw.bos_token_id ?? defaults.bosTokenId
        eosTokenIds = raw.eos_token_id?.values ?? defaults.eosTokenId.map { [$0] } ?? []
        dtype = (raw.dtype ?? raw.torch_dtype).flatMap(DType.init(configName:))

        let theta = raw.rope_parameters?.rope_theta ?? raw.rope_theta ?? 10000
        let scaling = raw.rope_parameters ?? raw.rope_scaling
        rope = try RopeParameters(scaling, theta: theta, maxPositionEmbeddings: maxPositionEmbeddings,
                                  originalMaxPositionEmbeddings: raw.original_max_position_embeddings,
                                  partialRotaryFactor: raw.partial_rotary_factor, path: path)

        for (name, value) in [("hidden_size", hiddenSize), ("intermediate_size", intermediateSize),
                              ("num_hidden_layers", numHiddenLayers), ("num_attention_heads", numAttentionHeads),
                              ("num_key_value_heads", numKeyValueHeads), ("head_dim", headDim),
                              ("vocab_size", vocabSize), ("max_position_embeddings", maxPositionEmbeddings)] where value <= 0 {
            throw ModelError("\(path): \(name) must be positive, got \(value)")
        }
        guard numAttentionHeads % numKeyValueHeads == 0 else {
            throw ModelError("\(path): num_attention_heads (\(numAttentionHeads)) must be a multiple of num_key_value_heads (\(numKeyValueHeads))")
        }
        guard hiddenAct == "silu" else {
            throw ModelError("\(path): hidden_act '\(hiddenAct)' is not supported; supported: silu")
        }
    }

    /// The longest context the model supports, as vLLM derives `max_model_len`: max_position_embeddings,
    /// times the rope factor for linear / dynamic / yarn scaling (yarn from its original length).
    public var derivedMaxModelLen: Int {
        switch rope.scaling {
        case .none, .llama3: maxPositionEmbeddings
        case .linear(let factor), .dynamic(let factor): Int(Double(maxPositionEmbeddings) * factor)
        case .yarn(let factor, let originalMax, _, _, _, _, _, _): Int(Double(originalMax) * factor)
        }
    }

    private static func modelType(forArchitecture architecture: String?) -> String? {
        defaults.first { $0.value.architecture == architecture }?.key
    }

    static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.typeMismatch(let type, let context), DecodingError.valueNotFound(let type, let context):
            return "\(context.codingPath.map(\.stringValue).joined(separator: ".")) should be \(type)"
        case DecodingError.dataCorrupted(let context):
            return context.debugDescription
        default:
            return "\(error)"
        }
    }

    /// The defaults of each transformers config class that differ between families.
    private struct FamilyDefaults {
        var architecture: String
        var vocabSize: Int
        var intermediateSize: Int
        var maxPositionEmbeddings: Int
        var bosTokenId: Int?
        var eosTokenId: Int?
    }

    private static let defaults: [String: FamilyDefaults] = [
        "llama": FamilyDefaults(architecture: "LlamaForCausalLM", vocabSize: 32000, intermediateSize: 11008,
                                maxPositionEmbeddings: 2048, bosTokenId: 1, eosTokenId: 2),
        "mistral": FamilyDefaults(architecture: "MistralForCausalLM", vocabSize: 32000, intermediateSize: 14336,
                                  maxPositionEmbeddings: 131_072, bosTokenId: 1, eosTokenId: 2),
        "qwen2": FamilyDefaults(architecture: "Qwen2ForCausalLM", vocabSize: 151_936, intermediateSize: 22016,
                                maxPositionEmbeddings: 32768, bosTokenId: nil, eosTokenId: nil),
        "qwen3": FamilyDefaults(architecture: "Qwen3ForCausalLM", vocabSize: 151_936, intermediateSize: 22016,
                                maxPositionEmbeddings: 32768, bosTokenId: nil, eosTokenId: nil),
    ]
}

/// config.json as written, every key optional. Names are HF's.
struct RawConfig: Decodable {
    var architectures: [String]?
    var model_type: String?
    var vocab_size: Int?
    var hidden_size: Int?
    var intermediate_size: Int?
    var num_hidden_layers: Int?
    var num_attention_heads: Int?
    var num_key_value_heads: Int?
    var head_dim: Int?
    var max_position_embeddings: Int?
    var original_max_position_embeddings: Int?
    var rms_norm_eps: Float?
    var rope_theta: Double?
    var rope_scaling: RawRope?
    var rope_parameters: RawRope?
    var partial_rotary_factor: Double?
    var attention_bias: Bool?
    var mlp_bias: Bool?
    var tie_word_embeddings: Bool?
    var hidden_act: String?
    var bos_token_id: Int?
    var eos_token_id: IntOrList?
    var torch_dtype: String?
    var dtype: String?
}

/// `rope_scaling` (transformers 4) or `rope_parameters` (transformers 5).
struct RawRope: Decodable {
    var rope_type: String?
    var type: String?
    var rope_theta: Double?
    var factor: Double?
    var low_freq_factor: Double?
    var high_freq_factor: Double?
    var original_max_position_embeddings: Int?
    var attention_factor: Double?
    var beta_fast: Double?
    var beta_slow: Double?
    var mscale: Double?
    var mscale_all_dim: Double?
    var truncate: Bool?
    var partial_rotary_factor: Double?
}

/// `eos_token_id` may be one id or a list.
struct IntOrList: Decodable {
    var values: [Int]
    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let one = try? container.decode(Int.self) { values = [one] } else { values = try container.decode([Int].self) }
    }
}
