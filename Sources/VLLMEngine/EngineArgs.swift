import Foundation
import VLLMCompute
import VLLMCore
import VLLMModels

/// How to build an engine: vLLM's EngineArgs, flag for flag (`--block-size` → `blockSize`, …).
public struct EngineArgs: Sendable {
    /// A HuggingFace model folder; `nil` serves the built-in random-weight demo model.
    public var model: URL?
    public var loadFormat: LoadFormat = .safetensors
    public var dtype: DType? = nil
    /// vLLM's `--quantization`: checked against the checkpoint's quantization_config; `fp8` also quantizes a
    /// float checkpoint at load. nil: whatever the checkpoint says.
    public var quantization: String? = nil
    /// vLLM's `--kv-cache-dtype`: nil (auto) keeps the activation dtype; fp8 (e4m3) or fp8_e5m2 stores a byte a value.
    public var kvCacheDType: DType? = nil
    public var maxModelLen: Int? = nil
    /// vLLM's `--tensor-parallel-size`: ranks, each a backend (GPU) of its own holding a shard of the model.
    public var tensorParallelSize = 1
    /// vLLM's `--pipeline-parallel-size`: stages, each `tensorParallelSize` ranks holding a contiguous range of the
    /// decoder layers (CPU ranks in threads only, so far).
    public var pipelineParallelSize = 1
    /// vLLM's `VLLM_PP_LAYER_PARTITION` (an environment variable there too): each stage's number of decoder layers, in
    /// stage order, in place of the even split; nil: the even split (`PipelineStage.partition`).
    public var pipelineLayerPartition: [Int]? = nil
    public var blockSize = 16
    /// `nil`: vLLM's default for the device and `usageContext` (`SchedulerLimits.defaults`).
    public var maxNumSeqs: Int? = nil
    /// `nil`: as `maxNumSeqs`.
    public var maxNumBatchedTokens: Int? = nil
    /// vLLM's `--async-scheduling`: schedule and launch the next step while the last one runs (EngineCore.step).
    public var asyncScheduling = true
    /// vLLM's `--speculative-config` (n-gram prompt lookup, or a draft model's folder); nil: no speculation. Steps
    /// then run one at a time (drafts need the last step's tokens), whatever `asyncScheduling` says.
    public var speculativeConfig: SpeculativeConfig? = nil
    /// vLLM's `--enforce-eager`: no CUDA graphs (every decode step launches its kernels one by one).
    public var enforceEager = false
    /// Who drives the engine: vLLM picks the step limits' defaults by it.
    public var usageContext: UsageContext = .llmClass
    public var enablePrefixCaching = true
    public var numGPUBlocksOverride: Int? = nil
    /// KV cache bytes on the CPU backend (vLLM's VLLM_CPU_KVCACHE_SPACE); default 1 GiB.
    public var kvCacheMemory: Int? = nil
    /// Fraction of device memory for weights + activations + KV cache (GPU backends).
    public var gpuMemoryUtilization = 0.9
    /// The most logprobs (sampled or prompt) a request may ask for; -1: the whole vocabulary (vLLM's `--max-logprobs`).
    public var maxLogprobs = 20
    public var seed: UInt64 = 0
    /// vLLM's `--enable-lora`: the model gets `maxLoras` adapter slots of rank `maxLoRARank` (`--max-loras`,
    /// `--max-lora-rank`), and `maxCPULoras` adapters stay read on the host (`--max-cpu-loras`; nil: `maxLoras`).
    public var enableLoRA = false
    public var maxLoras = 1
    public var maxLoRARank = 16
    public var maxCPULoras: Int? = nil
    /// Where start-up lines go (the KV cache size, …); stderr by default in the CLI.
    public var log: @Sendable (String) -> Void = { _ in }

    public init(model: URL? = nil) { self.model = model }
}

/// The backends an engine runs on: one, or one per rank with the groups' communicators (rank g's on `backends[g]`).
/// Ranks are laid out as vLLM lays them out: rank g is tensor-parallel rank g % TP of pipeline stage g / TP.
public struct EngineDevices: Sendable {
    public let backends: [any Backend]
    /// Rank g's communicator in its stage's tensor-parallel group (its rank there g % TP); empty where TP is 1.
    public let communicators: [any Communicator]
    /// Rank g's communicator in the group of the ranks holding its tensor-parallel share in every stage (its rank
    /// there g / TP, its stage); empty where PP is 1.
    public let pipelineCommunicators: [any Communicator]

    public init(_ backend: any Backend) {
        backends = [backend]
        communicators = []
        pipelineCommunicators = []
    }

    /// Tensor parallelism alone: one group of every backend.
    public init(backends: [any Backend], communicators: [any Communicator]) {
        precondition(!backends.isEmpty && communicators.count == (backends.count > 1 ? backends.count : 0)
                     && communicators.enumerated().allSatisfy { $0.element.rank == $0.offset && $0.element.size == backends.count },
                     "EngineDevices: one communicator per backend, ranks in order")
        self.backends = backends
        self.communicators = communicators
        pipelineCommunicators = []
    }

    /// TP × PP ranks on `backends` (TP · PP of them): `makeGroup` makes the communicators of one group of ranks (their
    /// indices into `backends`, in group-rank order) — each stage's tensor-parallel group and each tensor-parallel
    /// rank's pipeline group.
    public init(backends: [any Backend], tensorParallelSize: Int, pipelineParallelSize: Int,
                makeGroup: ([Int]) throws -> [any Communicator]) rethrows {
        let (tp, pp) = (tensorParallelSize, pipelineParallelSize)
        precondition(tp >= 1 && pp >= 1 && backends.count == tp * pp,
                     "EngineDevices: \(backends.count) backends for TP \(tp) × PP \(pp)")
        var communicators = [(any Communicator)?](repeating: nil, count: tp > 1 ? tp * pp : 0)
        var pipelineCommunicators = [(any Communicator)?](repeating: nil, count: pp > 1 ? tp * pp : 0)
        if tp > 1 {
            for stage in 0..<pp {
                let members = Array(stage * tp ..< (stage + 1) * tp)
                for (member, communicator) in zip(members, try makeGroup(members)) { communicators[member] = communicator }
            }
        }
        if pp > 1 {
            for rank in 0..<tp {
                let members = (0..<pp).map { $0 * tp + rank }
                for (member, communicator) in zip(members, try makeGroup(members)) { pipelineCommunicators[member] = communicator }
            }
        }
        self.backends = backends
        self.communicators = communicators.map { $0! }
        self.pipelineCommunicators = pipelineCommunicators.map { $0! }
    }

    public var pipelineParallelSize: Int { pipelineCommunicators.first?.size ?? 1 }
    public var tensorParallelSize: Int { backends.count / pipelineParallelSize }

    /// Rank g's tensor-parallel share.
    public func tensorParallelRank(_ rank: Int) -> TensorParallelRank {
        communicators.isEmpty ? .single : TensorParallelRank(communicator: communicators[rank])
    }

    /// Rank g's pipeline stage; `layerCounts`: each stage's layers where `VLLM_PP_LAYER_PARTITION` sets them.
    public func pipelineStage(_ rank: Int, layerCounts: [Int]? = nil) -> PipelineStage {
        pipelineCommunicators.isEmpty ? .single : PipelineStage(communicator: pipelineCommunicators[rank], layerCounts: layerCounts)
    }
}

/// Who drives the engine (vLLM's UsageContext): the offline `LLM` and benchmarks, or the server.
public enum UsageContext: Sendable {
    case llmClass, openAIServer
}

/// The step limits when no flag sets them, as vLLM 0.26 chooses them (`EngineArgs.get_batch_defaults`):
/// GPUs of ≥ 70 GiB other than the A100 get 16384 tokens (offline) or 8192 (server) and 1024 sequences;
/// smaller GPUs 8192 / 2048 tokens and 256 sequences. The CPU backend keeps 8192 tokens and 256
/// sequences for both (vLLM's CPU defaults are tuned for its own CPU kernels; ours batch best so).
public enum SchedulerLimits {
    public static func defaults(device: (any DeviceMemoryReporting)?, deviceName: String, usage: UsageContext)
        -> (maxNumBatchedTokens: Int, maxNumSeqs: Int) {
        guard let totalBytes = (try? device?.memoryStats())?.totalBytes else { return (8192, 256) }
        if totalBytes >= 70 << 30 && !deviceName.lowercased().contains("a100") {
            return (usage == .llmClass ? 16384 : 8192, 1024)
        }
        return (usage == .llmClass ? 8192 : 2048, 256)
    }
}

/// A model loaded and ready: the pieces an engine is made of (`EngineCore(engine:detokenizer:)`).
public struct LoadedEngine: Sendable {
    public var runner: ModelRunner
    public var config: ModelConfig
    public var generationConfig: GenerationConfig
    public var schedulerConfig: SchedulerConfig
    public var maxLogprobs = 20
    public var asyncScheduling = true
    public var speculativeConfig: SpeculativeConfig? = nil
    /// The draft model's runner (its own weights, workspace and KV cache, addressed by the target's block ids) where
    /// `speculativeConfig` names a draft model.
    public var draftRunner: ModelRunner? = nil
    /// Where the engine reports what it cannot hand back as an output (EngineArgs.log).
    public var log: @Sendable (String) -> Void = { _ in }

    /// vLLM's request checks: the fields alone, then those that need the vocabulary (out-of-vocab
    /// stop ids, logit_bias keys and allowed ids; more logprobs than `maxLogprobs`).
    public func validate(_ params: SamplingParams) throws {
        try params.validate()
        try params.validate(vocabSize: config.vocabSize, maxLogprobs: maxLogprobs)
    }
}

extension EngineArgs {
    /// The demo model `serve` runs when no model is given: a small Llama of random weights.
    public static let demoConfigJSON = """
        {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 259, "hidden_size": 128,
         "intermediate_size": 352, "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2,
         "max_position_embeddings": 2048, "rms_norm_eps": 1e-5, "bos_token_id": 1, "eos_token_id": 2,
         "tie_word_embeddings": true, "torch_dtype": "float32"}
        """

    /// Loads the model onto `backend`, sizes the KV cache, and builds the engine core.
    public func build(backend: any Backend) throws -> LoadedEngine {
        try build(devices: EngineDevices(backend))
    }

    /// Loads rank r's shard of the model onto `devices.backends[r]` (all ranks at once, a thread each), sizes
    /// the KV cache for the rank with the least room, and builds the engine core.
    public func build(devices: EngineDevices) throws -> LoadedEngine {
        let backends = devices.backends
        let communicators = devices.communicators + devices.pipelineCommunicators
        guard pipelineParallelSize >= 1 else {
            throw ModelError("--pipeline-parallel-size must be at least 1, got \(pipelineParallelSize)")
        }
        guard devices.tensorParallelSize == tensorParallelSize, devices.pipelineParallelSize == pipelineParallelSize else {
            throw ModelError("--tensor-parallel-size \(tensorParallelSize) × --pipeline-parallel-size \(pipelineParallelSize) given "
                             + "\(backends.count) backend(s) in \(devices.pipelineParallelSize) stage(s)")
        }
        let backend = backends[0]
        var config: ModelConfig
        var format = loadFormat
        if let model {
            config = try ModelConfig.load(modelDirectory: model)
        } else {
            config = try ModelConfig.parse(Data(Self.demoConfigJSON.utf8), path: "demo model config")
            format = .dummy(seed: seed)
            log("no model given: running the built-in demo model (a small Llama of random weights, as --load-format dummy; its text is noise)")
        }
        config.quantization = try QuantizationConfig.resolve(checkpoint: config.quantization, flag: quantization)
        if let quantization = config.quantization { log("quantization: \(quantization.summary)") }
        let maxModelLen = self.maxModelLen ?? config.derivedMaxModelLen
        guard maxModelLen > 0 else { throw ModelError("--max-model-len must be positive, got \(maxModelLen)") }
        guard blockSize > 0, blockSize.nonzeroBitCount == 1, blockSize <= 256 else {
            throw ModelError("--block-size must be a power of two up to 256, got \(blockSize)")
        }
        let lora = try loraCapacity()
        try checkPipeline(config: config, lora: lora)
        let (directory, dtype, kvCacheDType, finalConfig, finalFormat) = (self.model, self.dtype, self.kvCacheDType, config, format)
        let rankName = RankThreads.rankName(tensorParallelSize: tensorParallelSize, pipelineParallelSize: pipelineParallelSize)
        let threads = RankThreads(count: backends.count, rankName: rankName, onFailure: { communicators.forEach { $0.abort() } })
        let models = try threads.run { rank in
            try ModelRegistry.load(config: finalConfig, directory: directory, backend: backends[rank], format: finalFormat,
                                   maxModelLen: maxModelLen, dtype: dtype, kvCacheDType: kvCacheDType,
                                   parallel: devices.tensorParallelRank(rank),
                                   pipeline: devices.pipelineStage(rank, layerCounts: pipelineLayerPartition), lora: lora)
        }
        let draft = try loadDraftModel(target: config, backends: backends, format: format, maxModelLen: maxModelLen)
        if tensorParallelSize > 1 {
            let names = backends.prefix(tensorParallelSize).map(\.name).joined(separator: ", ")
            let perStage = pipelineParallelSize > 1 ? " in each stage" : ""
            log("tensor parallel: \(tensorParallelSize) ranks\(perStage) (\(names)), each holding 1/\(tensorParallelSize) of the attention "
                + "heads, MLP columns and vocabulary")
        }
        if pipelineParallelSize > 1 {
            let split = PipelineStage.partition(numLayers: config.numHiddenLayers, stages: pipelineParallelSize,
                                                layerCounts: pipelineLayerPartition)
            log("pipeline parallel: \(pipelineParallelSize) stages of \(tensorParallelSize) rank(s), holding layers "
                + split.map { $0.count == 1 ? "\($0.lowerBound)" : "\($0.lowerBound)–\($0.upperBound - 1)" }.joined(separator: ", ")
                + "; a step runs through the stages one after another (no micro-batches overlap them)")
        }
        let defaults = SchedulerLimits.defaults(device: backend as? any DeviceMemoryReporting, deviceName: backend.name,
                                                usage: usageContext)
        let maxNumSeqs = self.maxNumSeqs ?? defaults.maxNumSeqs
        // Never below the number of sequences (vLLM raises it the same way).
        let maxTokens = max(maxNumBatchedTokens ?? defaults.maxNumBatchedTokens, maxNumSeqs)
        // A step samples a row per sequence, and one more per draft token it verifies.
        let maxLogitsRows = min(maxTokens, maxNumSeqs * (1 + (speculativeConfig?.numSpeculativeTokens ?? 0)))
        let numBlocks: Int
        if let numGPUBlocksOverride {
            numBlocks = numGPUBlocksOverride
        } else if backend is any DeviceMemoryReporting {
            let plan = try KVCacheSizing.profile(models: models, draft: draft, maxNumTokens: maxTokens, maxNumSeqs: maxNumSeqs,
                                                 maxLogitsRows: maxLogitsRows, blockSize: blockSize,
                                                 gpuMemoryUtilization: gpuMemoryUtilization)
            log(plan.summary)
            numBlocks = plan.numBlocks
        } else {
            // `kvCacheMemory` is each rank's; the rank whose stage holds the most layers needs the most a block.
            let bytesPerBlock = models.map { $0.kvCacheBytesPerBlock(blockSize: blockSize) }.max()!
                + (draft?.kvCacheBytesPerBlock(blockSize: blockSize) ?? 0)
            numBlocks = max(2, (kvCacheMemory ?? (1 << 30)) / bytesPerBlock)
            log("KV cache: \(numBlocks) blocks of \(blockSize) tokens = \(numBlocks * blockSize) tokens of context (\(backend.name))")
        }
        let schedulerConfig = SchedulerConfig(maxNumBatchedTokens: maxTokens, maxNumSeqs: maxNumSeqs, maxModelLen: maxModelLen,
                                              blockSize: blockSize, numGPUBlocks: numBlocks, enablePrefixCaching: enablePrefixCaching,
                                              maxLoras: lora?.maxLoras ?? 0)
        let runner = try ModelRunner(models: models, numBlocks: numBlocks, blockSize: blockSize,
                                     maxNumBatchedTokens: maxTokens, maxNumSeqs: maxNumSeqs, maxLogitsRows: maxLogitsRows,
                                     enforceEager: enforceEager, maxCPULoras: maxCPULoras)
        if let lora {
            log("LoRA: \(lora.maxLoras) adapter slot(s) of rank up to \(lora.maxRank) on q/k/v/o and gate/up/down, "
                + "\(max(maxCPULoras ?? lora.maxLoras, lora.maxLoras)) kept read on the host")
        }
        if runner.graphs.isActive {
            log("CUDA graphs: decode steps of up to \(runner.graphs.maxCaptureSize) sequences run as graphs, each recorded the "
                + "first time its batch-size and context bucket appears (--enforce-eager turns them off)")
        }
        if let spec = speculativeConfig {
            let proposer = draft.map { "draft model \(spec.draftModel ?? "") (\($0.config.numHiddenLayers) layers, hidden size \($0.config.hiddenSize))" }
                ?? "n-gram prompt lookup (n = \(spec.promptLookupMin)…\(spec.promptLookupMax))"
            log("speculative decoding: \(proposer), up to \(spec.numSpeculativeTokens) draft tokens a step, verified in one forward; "
                + "steps run one at a time (no async scheduling)")
        }
        let draftRunner = try draft.map {
            try ModelRunner(model: $0, numBlocks: numBlocks, blockSize: blockSize, maxNumBatchedTokens: maxTokens,
                            maxNumSeqs: maxNumSeqs, enforceEager: enforceEager)
        }
        let generationConfig = try self.model.map { try GenerationConfig.load(modelDirectory: $0) } ?? GenerationConfig()
        return LoadedEngine(runner: runner, config: config,
                            generationConfig: generationConfig, schedulerConfig: schedulerConfig, maxLogprobs: maxLogprobs,
                            asyncScheduling: asyncScheduling, speculativeConfig: speculativeConfig, draftRunner: draftRunner, log: log)
    }

    /// The draft model `speculativeConfig` names, loaded beside the target on its one device (nil for none): checked
    /// before its weights are read — a folder with a config.json, the target's vocabulary (the drafts are the
    /// target's token ids and the target's tokens the draft's input), one device (LoRA is refused with any
    /// speculation, by `loraCapacity`). Same dtype, KV cache dtype, load format and context length as the target.
    func loadDraftModel(target: ModelConfig, backends: [any Backend], format: LoadFormat, maxModelLen: Int) throws -> (any CausalLM)? {
        guard let path = speculativeConfig?.draftModel else { return nil }
        guard backends.count == 1 else {
            throw ModelError("--speculative-config: a draft model with --tensor-parallel-size \(backends.count) is not supported yet (only 1)")
        }
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue else {
            throw ModelError("--speculative-config: the draft model '\(path)' is not a model folder")
        }
        let folder = URL(fileURLWithPath: path)
        var config = try ModelConfig.load(modelDirectory: folder)
        config.quantization = try QuantizationConfig.resolve(checkpoint: config.quantization, flag: nil)
        guard config.vocabSize == target.vocabSize else {
            throw ModelError("--speculative-config: the draft model \(path) has vocab_size \(config.vocabSize) and the target "
                             + "\(target.vocabSize): a draft model must share the target's vocabulary")
        }
        return try ModelRegistry.load(config: config, directory: folder, backend: backends[0], format: format,
                                      maxModelLen: maxModelLen, dtype: dtype, kvCacheDType: kvCacheDType)
    }
}

extension EngineArgs {
    /// Refuses what pipeline parallelism does not do yet, before any weight is read: more stages than decoder layers,
    /// LoRA (`ModelRegistry.checkPipeline`), speculative decoding; and a `VLLM_PP_LAYER_PARTITION` that does not fit.
    func checkPipeline(config: ModelConfig, lora: LoRACapacity?) throws {
        try ModelRegistry.checkPipeline(config: config, stages: pipelineParallelSize, lora: lora,
                                        layerCounts: pipelineLayerPartition)
        guard pipelineParallelSize > 1 else { return }
        guard speculativeConfig == nil else {
            throw ModelError("--speculative-config with --pipeline-parallel-size \(pipelineParallelSize) is not supported yet")
        }
    }

    /// vLLM's allowed `--max-lora-rank` values.
    public static let loraRanks = [1, 8, 16, 32, 64, 128, 256, 320, 512]

    /// The adapter slots `--enable-lora` asks for, checked as vLLM's LoRAConfig checks them; nil without LoRA.
    func loraCapacity() throws -> LoRACapacity? {
        guard enableLoRA else { return nil }
        guard speculativeConfig == nil else { throw ModelError("--speculative-config with --enable-lora is not supported yet") }
        guard maxLoras >= 1 else { throw ModelError("--max-loras: Input should be greater than or equal to 1, got \(maxLoras)") }
        guard Self.loraRanks.contains(maxLoRARank) else {
            throw ModelError("--max-lora-rank: invalid choice: \(maxLoRARank) (choose from \(Self.loraRanks.map(String.init).joined(separator: ", ")))")
        }
        if let maxCPULoras, maxCPULoras > 0, maxCPULoras < maxLoras {
            throw ModelError("max_cpu_loras (\(maxCPULoras)) must be >= max_loras (\(maxLoras)).")
        }
        return LoRACapacity(maxLoras: maxLoras, maxRank: maxLoRARank)
    }
}
