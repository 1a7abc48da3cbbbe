import ArgumentParser
import Foundation
import VLLMCompute
import VLLMCPU
import VLLMCore
import VLLMCUDA
import VLLMEngine
import VLLMHub
import VLLMModels

/// The engine flags `generate`, `serve` and `bench` share, named as vLLM names them.
struct EngineOptions: ParsableArguments {
    @Option(name: .customLong("load-format"), help: "safetensors, or dummy (random weights of the configured shape).")
    var loadFormat: String = "auto"
    @Option(help: "Weight dtype: auto, float32, float16 or bfloat16.")
    var dtype: String = "auto"
    @Option(name: [.customLong("quantization"), .customShort("q")],
            help: "vLLM's --quantization: gptq, gptq_marlin, awq, awq_marlin, compressed-tensors or fp8 (default: the checkpoint's quantization_config; fp8 also quantizes a float checkpoint at load).")
    var quantization: String?
    @Option(name: .customLong("kv-cache-dtype"),
            help: "vLLM's --kv-cache-dtype: auto (the activation dtype), fp8 / fp8_e4m3, or fp8_e5m2 (a byte a value: twice the tokens of context).")
    var kvCacheDType = "auto"
    @Option(name: .customLong("max-model-len"), help: "Longest prompt + output (default: from config.json).")
    var maxModelLen: Int?
    @Option(name: .customLong("block-size"), help: "Tokens per KV cache block.")
    var blockSize: Int = 16
    @Option(name: .customLong("max-num-seqs"),
            help: "Most sequences in one step (default as vLLM's: 1024 on GPUs of 70 GiB or more, else 256).")
    var maxNumSeqs: Int?
    @Option(name: .customLong("max-num-batched-tokens"),
            help: "Token budget of one step (default as vLLM's: 16384 offline / 8192 serving on GPUs of 70 GiB or more, 8192 / 2048 on smaller GPUs; 8192 on the CPU).")
    var maxNumBatchedTokens: Int?
    @Flag(name: .customLong("enable-prefix-caching"), inversion: .prefixedNo,
          help: "Reuse the KV blocks of shared prompt prefixes (on by default; --no-enable-prefix-caching turns it off).")
    var enablePrefixCaching: Bool = true
    @Flag(name: .customLong("async-scheduling"), inversion: .prefixedNo,
          help: "Schedule and launch the next step while the last one runs on the device (on by default; --no-async-scheduling turns it off).")
    var asyncScheduling: Bool = true
    @Option(name: .customLong("speculative-config"),
            help: "vLLM's speculative decoding, as JSON: {\"method\": \"ngram\", \"num_speculative_tokens\": k, \"prompt_lookup_min\": a, \"prompt_lookup_max\": b}.")
    var speculativeConfig: String?
    @Option(name: .customLong("hf-overrides"),
            help: "vLLM's --hf-overrides: a JSON object merged into the model's config.json (e.g. {\"is_matryoshka\": true}).")
    var hfOverrides: String?
    @Option(name: .customLong("pooler-config"),
            help: "vLLM's pooler config of an embedding model, as JSON: {\"pooling_type\": \"CLS\" | \"LAST\" | \"MEAN\", \"use_activation\": true | false, \"dimensions\": n} over what the model folder says.")
    var poolerConfig: String?
    @Option(help: "vLLM's --runner: auto (from the model's architecture), generate or pooling.")
    var runner = "auto"
    @Option(help: "vLLM's --convert: auto, embed (serve the model as an embedding model) or none.")
    var convert = "auto"
    @Option(help: "The task, as deployments still pass it (vLLM has retired the flag for --runner / --convert): auto, generate, embed or embedding.")
    var task = "auto"
    @Flag(name: .customLong("enforce-eager"),
          help: "Launch every kernel of every step one by one: no CUDA graphs for decode steps (they are recorded lazily, one per batch-size bucket and context bucket, by default).")
    var enforceEager: Bool = false
    @Option(name: .customLong("max-logprobs"),
            help: "The most logprobs (sampled or prompt) a request may ask for; -1: no limit.")
    var maxLogprobs = 20
    @Option(name: .customLong("num-gpu-blocks-override"), help: "Use exactly this many KV cache blocks.")
    var numGPUBlocksOverride: Int?
    @Option(name: .customLong("kv-cache-memory"), help: "KV cache bytes on the CPU backend (default 1 GiB).")
    var kvCacheMemory: Int?
    @Option(name: .customLong("gpu-memory-utilization"), help: "Fraction of GPU memory to use.")
    var gpuMemoryUtilization: Double = 0.9
    @Option(help: "Seed for dummy weights and for requests without their own seed.")
    var seed: UInt64 = 0
    @Option(name: [.customLong("tensor-parallel-size"), .customLong("tp", withSingleDash: true)],
            help: "vLLM's --tensor-parallel-size / -tp: GPUs (of those CUDA_VISIBLE_DEVICES shows) that each hold a shard of the model, over NCCL; on --device cpu, ranks in threads.")
    var tensorParallelSize = 1
    @Option(name: [.customLong("pipeline-parallel-size"), .customLong("pp", withSingleDash: true)],
            help: "vLLM's --pipeline-parallel-size / -pp: stages, each holding a contiguous range of the decoder layers on tensor-parallel-size ranks; --device cpu only so far (ranks in threads).")
    var pipelineParallelSize = 1
    @Option(name: [.customLong("data-parallel-size"), .customLong("dp", withSingleDash: true)],
            help: "vLLM's --data-parallel-size / -dp: engine replicas behind one server (serve, run-batch), each on its own tensor-parallel-size GPUs, requests balanced by load and prompt prefix.")
    var dataParallelSize = 1
    @Option(help: "auto (CUDA when a GPU is present), cpu or cuda.")
    var device: String = "auto"
    @Option(help: "The hub revision (branch, tag or commit) of a model given by hub id (default: main).")
    var revision: String?
    @Option(name: .customLong("download-dir"), help: "Where hub models are cached (default: $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub).")
    var downloadDir: String?
    @Option(help: "The tokenizer's folder or hub id, when it is not the model's.")
    var tokenizer: String?
    @Flag(name: .customLong("enable-lora"), inversion: .prefixedNo,
          help: "vLLM's --enable-lora: serve PEFT LoRA adapters (q/k/v/o and gate/up/down projections) beside the base model (docs/lora.md).")
    var enableLoRA = false
    @Option(name: .customLong("max-loras"), help: "Adapters one step may run at once: the adapter slots on the device (with --enable-lora).")
    var maxLoras = 1
    @Option(name: .customLong("max-lora-rank"),
            help: "The largest adapter rank accepted, one of \(EngineArgs.loraRanks.map(String.init).joined(separator: ", ")) (with --enable-lora).")
    var maxLoRARank = 16
    @Option(name: .customLong("max-cpu-loras"), parsing: .unconditional,
            help: "Adapters kept read in host memory, at least --max-loras (default, or 0 or less: --max-loras).")
    var maxCPULoras: Int?
    @Option(name: .customLong("lora-dtype"),
            help: "auto, bfloat16 or float16: accepted and changes nothing here (adapters compute in the activation dtype).")
    var loraDType = "auto"
    @Flag(name: .customLong("fully-sharded-loras"), inversion: .prefixedNo,
          help: "Accepted and changes nothing here (under tensor parallelism each rank already holds only its shard of every adapter).")
    var fullyShardedLoras = false
    // Flags deployments still pass that vLLM has retired or that mean nothing here: accepted with a warning.
    @Option(name: .customLong("swap-space"), help: "Accepted and ignored (vLLM's V1 engine has no CPU swap space).")
    var swapSpace: Double?
    @Option(name: .customLong("num-scheduler-steps"), help: "Accepted and ignored (vLLM retired multi-step scheduling).")
    var numSchedulerSteps: Int?
    @Option(name: .customLong("tokenizer-pool-size"), help: "Accepted and ignored (vLLM retired tokenizer pools).")
    var tokenizerPoolSize: Int?
    @Flag(name: .customLong("trust-remote-code"), help: "Accepted; no model code is ever run from a model folder here.")
    var trustRemoteCode = false
    @Flag(name: .customLong("enable-chunked-prefill"), inversion: .prefixedNo,
          help: "Chunked prefill (always on here, as in vLLM's V1 engine; --no-enable-chunked-prefill is accepted with a warning).")
    var enableChunkedPrefill: Bool?
    @Option(name: .customLong("kernel-cache-dir"), help: "Where compiled CUDA kernels are cached (default ~/.cache/swift-vllm/kernels).")
    var kernelCacheDir: String?

    /// The choices vLLM's argparse checks, whether or not --enable-lora is given, in its words.
    func validate() throws {
        guard EngineArgs.loraRanks.contains(maxLoRARank) else {
            throw ValidationError("argument --max-lora-rank: invalid choice: \(maxLoRARank) (choose from "
                                  + EngineArgs.loraRanks.map(String.init).joined(separator: ", ") + ")")
        }
        let loraDTypes = ["auto", "bfloat16", "float16"]
        guard loraDTypes.contains(loraDType) else {
            throw ValidationError("argument --lora-dtype: invalid choice: '\(loraDType)' (choose from "
                                  + loraDTypes.map { "'\($0)'" }.joined(separator: ", ") + ")")
        }
    }

    /// Whether the model runs as a pooling model: asked for by --runner pooling, --convert embed|classify or
    /// --task embed|score|classify, or an encoder architecture with nothing asked. `architecture`: config.json's first.
    /// A classifier (--convert classify, --task score|classify: vLLM's cross-encoder tasks) must be a
    /// …ForSequenceClassification folder: converting another model into one (a new head) is not built.
    func servesPooling(architecture: String?) throws -> Bool {
        guard ["auto", "generate", "pooling"].contains(runner) else {
            throw ValidationError("--runner '\(runner)' is not supported; use auto, generate or pooling")
        }
        guard ["auto", "embed", "classify", "none"].contains(convert) else {
            throw ValidationError("--convert '\(convert)' is not supported; use auto, embed, classify or none")
        }
        guard ["auto", "generate", "embed", "embedding", "score", "classify"].contains(task) else {
            throw ValidationError("--task '\(task)' is not supported; use auto, generate, embed, embedding, score or classify")
        }
        let isEncoder = architecture.map { EncoderConfig.architectures.contains($0) } ?? false
        let isDecoder = architecture.map { ModelRegistry.supportedArchitectures.contains($0) } ?? false
        let classifier = convert == "classify" || task == "score" || task == "classify"
        if classifier, !(isEncoder && architecture!.hasSuffix("ForSequenceClassification")) {
            throw ValidationError("--convert classify / --task \(task): '\(architecture ?? "(none)")' is not a cross-encoder; "
                                  + "serve a …ForSequenceClassification folder (converting another model into a classifier is not built)")
        }
        let asked = runner == "pooling" || convert == "embed" || task == "embed" || task == "embedding" || classifier
        let refused = runner == "generate" || task == "generate"
        if asked && refused { throw ValidationError("--runner / --task ask for both generation and pooling") }
        if asked && !isEncoder && !isDecoder {
            throw ValidationError("architecture '\(architecture ?? "(none)")' cannot serve embeddings here; pooling models: "
                                  + (EncoderConfig.architectures + ModelRegistry.supportedArchitectures).joined(separator: ", "))
        }
        if refused && isEncoder {
            throw ValidationError("'\(architecture!)' is an encoder: it serves embeddings (--task embed), not generation")
        }
        return asked || isEncoder
    }

    /// One warning line per accepted-but-ignored flag given (vLLM's retired flags, and those meaning nothing here).
    var ignoredFlagWarnings: [String] {
        var warnings: [String] = []
        if swapSpace != nil { warnings.append("--swap-space is ignored: vLLM's V1 engine, like this one, preempts by recomputing, with no CPU swap space") }
        if numSchedulerSteps != nil { warnings.append("--num-scheduler-steps is ignored: vLLM retired multi-step scheduling; async scheduling (on by default) keeps the host a step ahead instead") }
        if tokenizerPoolSize != nil { warnings.append("--tokenizer-pool-size is ignored: vLLM retired tokenizer pools; tokenizing runs on the request's own task here") }
        if trustRemoteCode { warnings.append("--trust-remote-code is accepted and has no effect: no Python model code runs here; the architectures built in are the ones served") }
        if enableChunkedPrefill == false { warnings.append("--no-enable-chunked-prefill is ignored: chunked prefill is always on, as in vLLM's V1 engine") }
        return warnings
    }

    /// The local folder of `model`: a folder as given, a hub id (`org/name`, `--revision`) resolved to its snapshot in
    /// the HF cache — downloaded where missing, from the cache alone with HF_HUB_OFFLINE=1 —, nil for none.
    /// `model`'s folder: a folder as given, or a hub id's snapshot (downloaded where not cached); `--hf-overrides`
    /// applied where `applyOverrides` (the model, not a separate tokenizer).
    func resolveModel(_ model: String?, applyOverrides: Bool = true) async throws -> String? {
        guard let model else { return nil }
        var isFolder: ObjCBool = false
        let folder: String
        if FileManager.default.fileExists(atPath: model, isDirectory: &isFolder) {
            guard isFolder.boolValue else { throw ValidationError("'\(model)' is a file, not a model folder") }
            folder = model
        } else {
            guard HubRepositoryID.isHubID(model) else {
                throw ValidationError("'\(model)' is neither a model folder nor a hub id (org/name)")
            }
            folder = try await Self.download(model, revision: revision, downloadDir: downloadDir).path
        }
        guard applyOverrides, let hfOverrides else { return folder }
        do {
            return try HFOverrides.apply(hfOverrides, to: URL(fileURLWithPath: folder)).path
        } catch {
            throw ValidationError("\(error)")
        }
    }

    /// `resolveModel` for the commands that run synchronously: blocks the calling thread (never a task's).
    func resolveModelBlocking(_ model: String?, applyOverrides: Bool = true) throws -> String? {
        let result = BlockingResult<String?>()
        Task {
            do { result.set(.success(try await resolveModel(model, applyOverrides: applyOverrides))) } catch { result.set(.failure(error)) }
        }
        return try result.wait()
    }

    /// Whether model ids name ModelScope's models (`VLLM_USE_MODELSCOPE=true`, as vLLM reads it).
    static var usesModelScope: Bool {
        ["1", "true", "yes"].contains((ProcessInfo.processInfo.environment["VLLM_USE_MODELSCOPE"] ?? "").lowercased())
    }

    /// `swift-vllm download`'s work: the snapshot folder of `repository` (revision nil: the hub's default branch,
    /// main on Hugging Face, master on ModelScope); `weights` false fetches only the tokenizer, configs and
    /// templates (a benchmark client's needs).
    static func download(_ repository: String, revision: String?, downloadDir: String?, weights: Bool = true) async throws -> URL {
        let log: @Sendable (String) -> Void = { FileHandle.standardError.write(Data("INFO \($0)\n".utf8)) }
        let settings = usesModelScope ? ModelScopeDownloader.settings(downloadDirectory: downloadDir)
            : HubSettings.fromEnvironment(downloadDirectory: downloadDir)
        log("\(repository): \(settings.isOffline ? "from the cache alone (HF_HUB_OFFLINE)" : "from \(settings.endpoint)") into \(settings.cacheDirectory.path)")
        if usesModelScope {
            return try await ModelScopeDownloader(settings: settings, log: log, weights: weights)
                .snapshot(repository, revision: revision ?? "master")
        }
        return try await HubDownloader(settings: settings, log: log, isTerminal: isatty(2) == 1, weights: weights)
            .snapshot(repository, revision: revision ?? "main")
    }

    /// The draft model `--speculative-config` names, as given (nil: none, or a config `engineArgs` will refuse).
    private var draftModelArgument: String? { speculativeConfig.flatMap { try? SpeculativeConfig(json: $0).draftModel } }

    /// The folder of the draft model `--speculative-config` names (a hub id resolved as `--model`'s is), or nil.
    func resolveDraftModel() async throws -> String? {
        try await resolveModel(draftModelArgument, applyOverrides: false)
    }

    /// `resolveDraftModel` for the commands that run synchronously: blocks the calling thread (never a task's).
    func resolveDraftModelBlocking() throws -> String? {
        try resolveModelBlocking(draftModelArgument, applyOverrides: false)
    }

    /// EngineArgs for `model` (nil: the built-in demo model); `draftModel`: the folder `resolveDraftModel` found.
    func engineArgs(model: String?, draftModel: String? = nil) throws -> EngineArgs {
        var args = EngineArgs(model: model.map { URL(fileURLWithPath: $0) })
        switch loadFormat {
        case "auto", "safetensors": args.loadFormat = .safetensors
        case "dummy": args.loadFormat = .dummy(seed: seed)
        default: throw ValidationError("--load-format '\(loadFormat)' is not supported; use auto, safetensors or dummy")
        }
        if dtype != "auto" {
            guard let parsed = DType(configName: dtype), parsed.isFloatingPoint else {
                throw ValidationError("--dtype '\(dtype)' is not supported; use auto, float32, float16 or bfloat16")
            }
            args.dtype = parsed
        }
        args.quantization = quantization
        switch kvCacheDType {
        case "auto": args.kvCacheDType = nil
        case "fp8", "fp8_e4m3": args.kvCacheDType = .float8E4M3
        case "fp8_e5m2": args.kvCacheDType = .float8E5M2
        case "bfloat16", "float16", "float32": args.kvCacheDType = DType(configName: kvCacheDType)
        default: throw ValidationError("--kv-cache-dtype '\(kvCacheDType)' is not supported; use auto, fp8, fp8_e4m3 or fp8_e5m2")
        }
        guard tensorParallelSize >= 1 else { throw ValidationError("--tensor-parallel-size must be at least 1, got \(tensorParallelSize)") }
        guard pipelineParallelSize >= 1 else {
            throw ValidationError("--pipeline-parallel-size must be at least 1, got \(pipelineParallelSize)")
        }
        guard dataParallelSize >= 1 else { throw ValidationError("--data-parallel-size must be at least 1, got \(dataParallelSize)") }
        args.tensorParallelSize = tensorParallelSize
        args.pipelineParallelSize = pipelineParallelSize
        args.pipelineLayerPartition = try Self.layerPartition(ProcessInfo.processInfo.environment["VLLM_PP_LAYER_PARTITION"])
        args.maxModelLen = maxModelLen
        args.blockSize = blockSize
        args.maxNumSeqs = maxNumSeqs
        args.maxNumBatchedTokens = maxNumBatchedTokens
        args.enablePrefixCaching = enablePrefixCaching
        args.asyncScheduling = asyncScheduling
        if let speculativeConfig {
            do {
                args.speculativeConfig = try SpeculativeConfig(json: speculativeConfig)
                if let draftModel { args.speculativeConfig?.draftModel = draftModel }
            } catch {
                throw ValidationError(error.description)
            }
        }
        args.enforceEager = enforceEager
        args.maxLogprobs = maxLogprobs
        args.numGPUBlocksOverride = numGPUBlocksOverride
        args.kvCacheMemory = kvCacheMemory
        args.gpuMemoryUtilization = gpuMemoryUtilization
        args.seed = seed
        args.enableLoRA = enableLoRA
        args.maxLoras = maxLoras
        args.maxLoRARank = maxLoRARank
        args.maxCPULoras = maxCPULoras.flatMap { $0 > 0 ? $0 : nil }
        args.log = { FileHandle.standardError.write(Data("INFO \($0)\n".utf8)) }
        for warning in ignoredFlagWarnings { FileHandle.standardError.write(Data("WARNING \(warning)\n".utf8)) }
        return args
    }

    /// vLLM's `VLLM_PP_LAYER_PARTITION` ("12,20": each pipeline stage's decoder layers, in stage order): the counts, or nil
    /// where it is unset or empty. Checked against the stages and the model's layers before any weight is read
    /// (`ModelRegistry.checkPipeline`).
    static func layerPartition(_ value: String?) throws -> [Int]? {
        guard let value, !value.isEmpty else { return nil }
        let counts = value.split(separator: ",", omittingEmptySubsequences: false)
            .map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard counts.allSatisfy({ $0 != nil }) else {
            throw ValidationError("VLLM_PP_LAYER_PARTITION: invalid partition string: \(value) (want comma-separated layer counts, "
                                  + "one a pipeline stage, e.g. 12,20)")
        }
        return counts.map { $0! }
    }

    /// The backend `--device` names. On CUDA, `--dtype float32` runs every activation in f32 (as the CPU
    /// backend does); any other dtype runs in bf16, as vLLM's `auto` runs an f32 checkpoint in half precision.
    func makeBackend() throws -> any Backend {
        guard tensorParallelSize == 1 && pipelineParallelSize == 1 && dataParallelSize == 1 else {
            let flag = pipelineParallelSize > 1 ? "--pipeline-parallel-size \(pipelineParallelSize)" : "--tensor-parallel-size \(tensorParallelSize)"
            throw ValidationError("\(flag): embedding models and this command run on one device (generation with serve, run-batch, generate and bench throughput takes several)")
        }
        return try makeDevices().backends[0]
    }

    /// The devices of the one engine an offline command (generate, bench) runs; `--data-parallel-size` is the server's.
    func makeOfflineDevices() throws -> EngineDevices {
        guard dataParallelSize == 1 else {
            throw ValidationError("--data-parallel-size \(dataParallelSize): engine replicas are for serve and run-batch")
        }
        return try makeDevices()
    }

    /// The backends of `--tensor-parallel-size` ranks on `--device` for data-parallel replica `replica`: GPUs
    /// replica·N ..< (replica + 1)·N of those the driver shows (all replicas' checked before anything loads) with an
    /// NCCL communicator each, or CPU ranks in threads sharing the cores — `--pipeline-parallel-size` stages of them
    /// (CPU only so far). One rank: one backend, no communicator.
    func makeDevices(replica: Int = 0) throws -> EngineDevices {
        let size = tensorParallelSize
        let first = replica * size
        func log(_ message: String) { FileHandle.standardError.write(Data("INFO \(message)\n".utf8)) }
        func cuda() throws -> EngineDevices {
            guard pipelineParallelSize == 1 else {
                throw ValidationError("--pipeline-parallel-size \(pipelineParallelSize): pipeline parallelism is built for --device cpu "
                                      + "only so far (stages as CPU ranks in threads), not on GPUs")
            }
            let visible = try CUDAContext.deviceCount(), needed = size * dataParallelSize
            guard needed <= visible else {
                let shown = ProcessInfo.processInfo.environment["CUDA_VISIBLE_DEVICES"].map { " (CUDA_VISIBLE_DEVICES=\($0))" } ?? ""
                throw ValidationError("--tensor-parallel-size \(size) × --data-parallel-size \(dataParallelSize) needs \(needed) GPUs; "
                                      + "the driver shows \(visible)\(shown)")
            }
            let backends = try (first..<first + size).map { ordinal in
                try CUDABackend(ordinal: ordinal, kernelCacheDirectory: kernelCacheDir ?? NVRTCCompiler.defaultCacheDirectory,
                                activationDType: DType(configName: dtype) == .float32 ? .float32 : .bfloat16)
            }
            // NVRTC runs while the weights load; the first steps find the kernel families loaded.
            for backend in backends { backend.loadKernelsInBackground() }
            guard size > 1 else { return EngineDevices(backends[0]) }
            let communicators = try NCCLCommunicator.group(backends: backends)
            log("tensor parallel over NCCL \(communicators[0].version): \(size) ranks; \(communicators[0].allReducePaths)")
            return EngineDevices(backends: backends, communicators: communicators)
        }
        func cpu() -> EngineDevices {
            let ranks = size * pipelineParallelSize
            let threads = max(1, ParallelFor.availableCores / (ranks * dataParallelSize))
            guard ranks > 1 else { return EngineDevices(dataParallelSize > 1 ? CPUBackend(numThreads: threads) : CPUBackend()) }
            return EngineDevices(backends: (0..<ranks).map { _ in CPUBackend(numThreads: threads) }, tensorParallelSize: size,
                                 pipelineParallelSize: pipelineParallelSize, makeGroup: { CPUCommunicator.group(size: $0.count) })
        }
        let devices: EngineDevices
        switch device {
        case "cpu": devices = cpu()
        case "cuda": devices = try cuda()
        case "auto": devices = CUDABackend.isDeviceAvailable() ? try cuda() : cpu()
        default: throw ValidationError("--device '\(device)' is not supported; use auto, cpu or cuda")
        }
        let names = devices.backends.map(\.name).joined(separator: ", ")
        log("device: \(names), activations \(devices.backends[0].activationDType)")
        return devices
    }
}

/// An async result waited for by a synchronous caller (the CLI's commands run before any engine thread exists).
final class BlockingResult<Value: Sendable>: @unchecked Sendable {
    // @unchecked: `value` is written once before `semaphore` is signalled and read after the wait.
    private var value: Result<Value, any Error>?
    private let semaphore = DispatchSemaphore(value: 0)

    func set(_ result: Result<Value, any Error>) {
        value = result
        semaphore.signal()
    }

    func wait() throws -> Value {
        semaphore.wait()
        return try value!.get()
    }
}
