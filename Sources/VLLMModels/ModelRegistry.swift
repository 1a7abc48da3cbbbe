import FoundationEssentials
import VLLMCompute

/// Maps a config's `architectures[0]` to the code that builds it. Adding a model: write its file
/// next to Llama.swift, reading like the transformers reference, and add one line here.
public enum ModelRegistry {
    typealias Constructor = @Sendable (ModelConfig, any Backend, WeightLoader, Int, DType?, TensorParallelRank, PipelineStage, LoRACapacity?)
        throws -> any CausalLM

    static let architectures: [String: Constructor] = [
        "LlamaForCausalLM": { try LlamaModel(config: $0, backend: $1, loader: $2, maxPositions: $3, kvCacheDType: $4, parallel: $5, pipeline: $6, lora: $7) },
        "MistralForCausalLM": { try LlamaModel(config: $0, backend: $1, loader: $2, maxPositions: $3, kvCacheDType: $4, parallel: $5, pipeline: $6, lora: $7) },
        "Qwen2ForCausalLM": { try LlamaModel(config: $0, backend: $1, loader: $2, maxPositions: $3, kvCacheDType: $4, parallel: $5, pipeline: $6, lora: $7) },
        "Qwen3ForCausalLM": { try LlamaModel(config: $0, backend: $1, loader: $2, maxPositions: $3, kvCacheDType: $4, parallel: $5, pipeline: $6, lora: $7) },
    ]

    public static var supportedArchitectures: [String] { architectures.keys.sorted() }

    /// Builds the model a config describes, its weights on `backend`.
    /// - Parameters:
    ///   - directory: the model folder (nil only for dummy weights of a config built in code).
    ///   - maxModelLen: longest context to prepare rotary tables for (default: the config's derived length).
    ///   - dtype: `--dtype` override of the checkpoint's dtype.
    ///   - kvCacheDType: `--kv-cache-dtype` (nil: the activation dtype), checked against what the backend takes.
    ///   - parallel: the tensor-parallel share to load (`.single`: the whole model).
    ///   - pipeline: the pipeline stage to load (`.single`: every layer), its layers as vLLM splits them.
    ///   - lora: slots for adapters (`--enable-lora`), zero until an adapter is put in one.
    public static func load(config: ModelConfig, directory: URL?, backend: any Backend, format: LoadFormat = .safetensors,
                            maxModelLen: Int? = nil, dtype: DType? = nil, kvCacheDType: DType? = nil,
                            parallel: TensorParallelRank = .single, pipeline: PipelineStage = .single, lora: LoRACapacity? = nil,
                            quantizedKernels: Bool = true) throws -> any CausalLM {
        let architecture = config.architectures.first ?? "(none)"
        guard let constructor = architectures[architecture] else {
            throw ModelError("architecture '\(architecture)' is not supported; supported: \(supportedArchitectures.joined(separator: ", "))")
        }
        try checkPipeline(config: config, stages: pipeline.size, lora: lora, layerCounts: pipeline.layerCounts)
        if let kvCacheDType, !backend.supportsKVCache(dtype: kvCacheDType, headSize: config.headDim) {
            throw ModelError("--kv-cache-dtype \(kvCacheDType): \(backend.name) has no attention kernels for a \(kvCacheDType) cache "
                             + "of head size \(config.headDim) (it takes: \(([backend.activationDType] + backend.kvCacheDTypes(headSize: config.headDim)).map(\.rawValue).joined(separator: ", ")))")
        }
        let loader = try WeightLoader(backend: backend, directory: directory, format: format,
                                      dtype: dtype ?? config.dtype ?? .bfloat16, quantization: config.quantization,
                                      quantizedKernels: quantizedKernels)
        return try constructor(config, backend, loader, maxModelLen ?? config.derivedMaxModelLen, kvCacheDType, parallel, pipeline, lora)
    }

    /// Whether the model splits into `stages` pipeline stages: every stage holds at least one decoder layer, and the
    /// stages hold no adapter slots (LoRA under pipeline parallelism is not built yet).
    public static func checkPipeline(config: ModelConfig, stages: Int, lora: LoRACapacity?, layerCounts: [Int]? = nil) throws {
        if let layerCounts {  // vLLM's get_pp_indices checks, in its words, and no stage without layers
            guard layerCounts.count == stages else {
                throw ModelError("VLLM_PP_LAYER_PARTITION: len(partitions)=\(layerCounts.count) does not match pp_size=\(stages).")
            }
            guard layerCounts.reduce(0, +) == config.numHiddenLayers else {
                throw ModelError("VLLM_PP_LAYER_PARTITION: sum(partitions)=\(layerCounts.reduce(0, +)) does not match "
                                 + "num_hidden_layers=\(config.numHiddenLayers).")
            }
            guard layerCounts.allSatisfy({ $0 >= 1 }) else {
                throw ModelError("VLLM_PP_LAYER_PARTITION: \(layerCounts.map(String.init).joined(separator: ",")) leaves a stage "
                                 + "without layers (each stage holds at least one)")
            }
        }
        guard stages > 1 else { return }
        guard stages <= config.numHiddenLayers else {
            throw ModelError("--pipeline-parallel-size \(stages): the model has \(config.numHiddenLayers) hidden layers, fewer than the "
                             + "stages (each stage holds at least one)")
        }
        guard lora == nil else { throw ModelError("--enable-lora with --pipeline-parallel-size \(stages) is not supported yet") }
    }

    /// Reads config.json in `directory` and loads the model.
    public static func load(directory: URL, backend: any Backend, format: LoadFormat = .safetensors,
                            maxModelLen: Int? = nil, dtype: DType? = nil, kvCacheDType: DType? = nil,
                            lora: LoRACapacity? = nil) throws -> any CausalLM {
        try load(config: try ModelConfig.load(modelDirectory: directory), directory: directory, backend: backend,
                 format: format, maxModelLen: maxModelLen, dtype: dtype, kvCacheDType: kvCacheDType, lora: lora)
    }
}
