import ArgumentParser
import FoundationEssentials
import VLLMCPU
import VLLMCUDA
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

    @Flag(help: "Time linear.cu's decode kernel against cuBLASLt on Llama-3-8B's linears at 1, 4 and 8 tokens.")
    var benchLinear = false

    @Option(help: "A model folder whose greedy story must equal the CPU backend's, token for token.")
    var greedyModel: String?

    @Option(help: "Tokens of the greedy comparison.")
    var greedyTokens = 256

    @Option(help: "Fraction of GPU memory for weights, activations and KV cache (KV cache sizing of --model).")
    var gpuMemoryUtilization = 0.9

    func run() throws {
        let gpu = try CUDABackend(ordinal: device, kernelCacheDirectory: kernelCacheDir ?? NVRTCCompiler.defaultCacheDirectory)
        print("device: \(gpu.name), compute capability \(gpu.context.computeCapability.major).\(gpu.context.computeCapability.minor), "
              + "\(gpu.context.multiprocessorCount) SMs, \(gpu.context.totalMemory >> 20) MiB")
        let clock = ContinuousClock()
        let start = clock.now
        for (family, origin) in try gpu.loadAllKernels() { print("kernel \(family): \(origin)") }
        print("kernels ready in \(clock.now - start)")
        if benchLinear { try Self.benchmarkLinears(gpu) }

        var failures = 0
        if !skipOps {
            // Each op twice: with bf16 activations, then with f32 ones (`--dtype float32`).
            let f32 = try CUDABackend(ordinal: device, kernelCacheDirectory: kernelCacheDir ?? NVRTCCompiler.defaultCacheDirectory,
                                      activationDType: .float32)
            for backend in [gpu, f32] {
                var checker = OpChecker(gpu: backend, cpu: CPUBackend(), seed: seed)
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
            let backend = dtype == .float32
                ? try CUDABackend(ordinal: device, kernelCacheDirectory: kernelCacheDir ?? NVRTCCompiler.defaultCacheDirectory,
                                  activationDType: .float32)
                : gpu
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
            let backend = config.dtype == .float32
                ? try CUDABackend(ordinal: device, kernelCacheDirectory: kernelCacheDir ?? NVRTCCompiler.defaultCacheDirectory,
                                  activationDType: .float32)
                : gpu
            let modelCheck = ModelCheck(gpu: backend, directory: greedyModel, utilization: gpuMemoryUtilization)
            failures += try modelCheck.greedyAgainstCPU(tokens: greedyTokens)
        }
        if failures > 0 {
            print("check-gpu: \(failures) failure(s)")
            throw ExitCode(1)
        }
        print("check-gpu: all passed")
    }
}

extension CheckGPUCommand {
    /// `--bench-linear`: each linear of a Llama-3-8B decode step (q/k/v fused and apart, o, gate_up, down,
    /// lm_head with its f32 logits), median GPU time and weight bytes per second of both paths.
    static func benchmarkLinears(_ gpu: CUDABackend) throws {
        let shapes: [(name: String, columns: Int, depth: Int, f32Out: Bool)] = [
            ("qkv", 6144, 4096, false), ("q / o", 4096, 4096, false), ("k / v", 1024, 4096, false),
            ("gate_up", 28672, 4096, false), ("down", 4096, 14336, false), ("lm_head", 128256, 4096, true),
        ]
        func rounded(_ value: Double) -> Double { (value * 10).rounded() / 10 }
        for shape in shapes {
            let bytes = Double(shape.columns * shape.depth * 2)
            func rate(_ microseconds: Double) -> String {
                "\(rounded(microseconds)) µs \(Int((bytes / microseconds / 1e3).rounded())) GB/s"
            }
            for tokens in [1, 4, 8] {
                let timing = try gpu.benchmarkLinear(tokens: tokens, columns: shape.columns, depth: shape.depth,
                                                     f32Out: shape.f32Out)
                print("bench-linear \(shape.name) T \(tokens) N \(shape.columns) K \(shape.depth): "
                      + "linear.cu \(timing.smallLinear.map(rate) ?? "n/a"), cuBLASLt \(rate(timing.blasLt))")
            }
        }
        try gpu.releaseCachedMemory()
    }
}

enum ModelCheckDType: String, ExpressibleByArgument {
    case bfloat16, float32
}

/// One row of the check table.
struct OpCheckResult {
    var op: String
    var shape: String
    var error: Float
    var tolerance: Float
    var note = ""

    var passed: Bool { error.isFinite && error <= tolerance }

    static func table(_ results: [OpCheckResult]) -> String {
        let opWidth = max(2, results.map(\.op.count).max() ?? 0)
        let shapeWidth = max(5, results.map(\.shape.count).max() ?? 0)
        func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
        var lines = [pad("op", opWidth) + "  " + pad("shape", shapeWidth) + "  rel.error   tol       result"]
        for result in results {
            let error = result.error.isFinite ? formatScientific(result.error) : "\(result.error)"
            lines.append(pad(result.op, opWidth) + "  " + pad(result.shape, shapeWidth) + "  " + pad(error, 10) + "  "
                         + pad(formatScientific(result.tolerance), 8) + "  " + (result.passed ? "pass" : "FAIL")
                         + (result.note.isEmpty ? "" : "  " + result.note))
        }
        return lines.joined(separator: "\n")
    }
}

/// `1.23e-03`.
func formatScientific(_ value: Float) -> String {
    if value == 0 { return "0" }
    var exponent = 0
    var mantissa = Double(value)
    while abs(mantissa) >= 10 { mantissa /= 10; exponent += 1 }
    while abs(mantissa) < 1 { mantissa *= 10; exponent -= 1 }
    let rounded = (mantissa * 100).rounded() / 100
    let sign = exponent < 0 ? "-" : "+"
    let digits = abs(exponent) < 10 ? "0\(abs(exponent))" : "\(abs(exponent))"
    return "\(rounded)e\(sign)\(digits)"
}

/// ‖a − b‖ / ‖b‖ (0 when both are zero; NaN anywhere gives NaN).
func relativeError(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "comparing \(a.count) with \(b.count) values")
    var difference = 0.0
    var norm = 0.0
    for (x, y) in zip(a, b) {
        if x.isNaN || y.isNaN { return .nan }
        difference += Double(x - y) * Double(x - y)
        norm += Double(y) * Double(y)
    }
    if norm == 0 { return difference == 0 ? 0 : .infinity }
    return Float((difference / norm).squareRoot())
}
