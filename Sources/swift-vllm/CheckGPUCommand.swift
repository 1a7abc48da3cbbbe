import ArgumentParser
import Foundation
import VLLMCompute
import VLLMCPU
import VLLMCUDA
import VLLMEngine
import VLLMGPUCheck
import VLLMModels

/// `swift-vllm check-gpu`: compiles every kernel, runs every op on the GPU and on the CPU backend (the
/// oracle) on the same random inputs, and prints op, shape, relative error and pass/fail. With
/// `--model`, also checks a whole model forward against transformers' logits (see docs/gpu.md).
struct CheckGPUCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-gpu",
        abstract: "Check every CUDA kernel against the CPU backend; exits non-zero on any failure.")

    @Option(help: "CUDA device ordinal.")
    var device = 0

    @Option(name: .customLong("kernel-cache-dir"), help: "Where compiled kernels are cached (default ~/.cache/swift-vllm/kernels).")
    var kernelCacheDir: String?

    @Option(help: "Seed of the random inputs.")
    var seed: UInt64 = 0

    @Flag(help: "Skip the per-op checks (run only the model checks).")
    var skipOps = false

    @Option(help: "An HF model folder to check end to end: teacher-forced logits against --reference.")
    var model: String?

    @Option(help: ArgumentHelp("The reference written by scripts/gpu_reference.py for --model (a .json beside its .f32 "
                               + "logits). Repeatable: the first decides pass/fail, the others are reported beside it."))
    var reference: [String] = []

    @Option(name: .customLong("load-format"), help: "--model's weights: safetensors, or dummy (random, for --profile-decode).")
    var loadFormat = "safetensors"

    @Option(help: "Activations of the --model check: bfloat16 (tolerance 2e-2) or float32 (1e-3; compare with an f32 reference).")
    var dtype: ModelCheckDType = .bfloat16

    @Flag(help: "After the --model check, list the cuBLASLt algorithm chosen for every matmul shape.")
    var showMatmulPlans = false

    @Option(parsing: .upToNextOption,
            help: "Batch sizes of a decode profile of --model: wall time a step, and the GPU time of each op.")
    var profileDecode: [Int] = []

    @Flag(help: "Time linear.cu's decode kernel against cuBLASLt on Llama-3-8B's linears at 1 to 64 tokens.")
    var benchLinear = false

    @Option(help: "A model folder whose greedy story must equal the CPU backend's, token for token.")
    var greedyModel: String?

    @Option(help: "Tokens of the greedy comparison.")
    var greedyTokens = 256

    @Option(help: "Fraction of GPU memory for weights, activations and KV cache (KV cache sizing of --model).")
    var gpuMemoryUtilization = 0.9

    @Option(help: "Check tensor parallelism's collectives (NCCL, peer-memory all-reduce) on this many GPUs.")
    var collectives: Int?

    @Option(name: .customLong("quantized-goldens"),
            help: "Tests/VLLMModelsTests/Goldens: load each quantized tiny checkpoint on the GPU and compare its logits with transformers'.")
    var quantizedGoldens: String?

    @Option(name: .customLong("lora-goldens"),
            help: "Tests/VLLMModelsTests/Goldens: check multi-LoRA end to end on the tiny models and their PEFT adapters.")
    var loraGoldens: String?

    @Option(name: .customLong("lora-tensor-parallel"),
            help: "With --lora-goldens: also run them over this many GPUs (NCCL), each rank holding its share of the adapters.")
    var loraTensorParallel = 1

    /// A backend on GPU `device + offset` with `dtype` activations, kernels from this command's cache.
    func backend(offset: Int = 0, _ dtype: DType = .bfloat16) throws -> CUDABackend {
        try CUDABackend(ordinal: device + offset, kernelCacheDirectory: kernelCacheDir ?? NVRTCCompiler.defaultCacheDirectory,
                        activationDType: dtype)
    }

    func run() throws {
        let gpu = try backend()
        print("device: \(gpu.name), compute capability \(gpu.context.computeCapability.major).\(gpu.context.computeCapability.minor), "
              + "\(gpu.context.multiprocessorCount) SMs, \(gpu.context.totalMemory >> 20) MiB")
        let clock = ContinuousClock()
        let start = clock.now
        for (family, origin) in try gpu.loadAllKernels() { print("kernel \(family): \(origin)") }
        print("kernels ready in \(clock.now - start)")
        if benchLinear { try LinearBenchmark.run(gpu) }

        var failures = 0
        if let collectives {
            let backends = try [gpu] + (1..<max(collectives, 1)).map { try backend(offset: $0) }
            let results = try CollectiveCheck.run(backends: backends, seed: seed)
            print(OpCheckResult.table(results))
            failures += results.filter { !$0.passed }.count
        }
        if !skipOps {
            // Each op twice: with bf16 activations, then with f32 ones (`--dtype float32`).
            let f32 = try backend(.float32)
            for backend in [gpu, f32] {
                var checker = OpChecker(gpu: backend, cpu: CPUBackend(), seed: seed)
                checker.progress = { FileHandle.standardError.write(Data("check-gpu: \(backend.activationDType) \($0)\n".utf8)) }
                try checker.runAll()
                failures += checker.results.filter { !$0.passed }.count
                print("\(backend.activationDType) activations:")
                print(OpCheckResult.table(checker.results))
            }
            try f32.releaseCachedMemory()
        }

        if let model {
            guard !reference.isEmpty || !profileDecode.isEmpty else {
                throw ValidationError("--model needs --reference (scripts/gpu_reference.py) or --profile-decode")
            }
            let backend = dtype == .float32 ? try self.backend(.float32) : gpu
            print("model check with \(backend.activationDType) activations, cuBLASLt \(backend.blasLtVersion)")
            var modelCheck = ModelCheck(gpu: backend, directory: model, utilization: gpuMemoryUtilization)
            if loadFormat == "dummy" {
                guard reference.isEmpty else { throw ValidationError("--load-format dummy has no weights to compare with --reference") }
                modelCheck.loadFormat = .dummy(seed: seed)
            }
            if !reference.isEmpty { failures += try modelCheck.teacherForced(referencePaths: reference) }
            if !profileDecode.isEmpty { try modelCheck.profileDecode(batchSizes: profileDecode) }
            if showMatmulPlans { print(backend.matmulPlanSummaries().map { "matmul \($0)" }.joined(separator: "\n")) }
            try backend.releaseCachedMemory()
        }
        if let greedyModel {
            // An f32 checkpoint runs with f32 activations on the GPU, so its story can equal the CPU's.
            let config = try ModelConfig.load(modelDirectory: URL(fileURLWithPath: greedyModel))
            let backend = config.dtype == .float32 ? try self.backend(.float32) : gpu
            let modelCheck = ModelCheck(gpu: backend, directory: greedyModel, utilization: gpuMemoryUtilization)
            failures += try modelCheck.greedyAgainstCPU(tokens: greedyTokens)
        }
        if let quantizedGoldens {
            let results = try QuantizedGoldenCheck.run(gpu: gpu, goldens: URL(fileURLWithPath: quantizedGoldens))
            print(OpCheckResult.table(results))
            failures += results.filter { !$0.passed }.count
        }
        if let loraGoldens {
            var runs = [EngineDevices(try backend(.float32)), EngineDevices(gpu)]
            if loraTensorParallel > 1 {
                for dtype in [DType.float32, .bfloat16] {
                    let backends = try (0..<loraTensorParallel).map { try backend(offset: $0, dtype) }
                    runs.append(EngineDevices(backends: backends, communicators: try NCCLCommunicator.group(backends: backends)))
                }
            }
            for devices in runs {
                let results = try LoRACheck.run(devices: devices, goldens: URL(fileURLWithPath: loraGoldens))
                print(OpCheckResult.table(results))
                failures += results.filter { !$0.passed }.count
            }
        }
        if failures > 0 {
            print("check-gpu: \(failures) failure(s)")
            throw ExitCode(1)
        }
        print("check-gpu: all passed")
    }
}

enum ModelCheckDType: String, ExpressibleByArgument {
    case bfloat16, float32
}
