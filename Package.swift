// swift-tools-version: 6.0
// swift-vllm: the vLLM design as one native Swift binary. See ARCHITECTURE.md for the module map.
import PackageDescription

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

// The CPU backend's hot loops (GEMM, attention) need AVX2 and FMA: Haswell (2013) and later, every
// x86-64 server CPU in use. Prefill ran 2× faster with it (docs/benchmarks.md).
// Optimized in debug builds too: the test suite's CPU oracle runs real models (all-MiniLM-L6-v2, 60
// sentences: 255 s unoptimized on two cores).
#if arch(x86_64)
let cpuKernels: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "haswell"]), .unsafeFlags(["-O"], .when(configuration: .debug))]
#else
let cpuKernels: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]
#endif

let package = Package(
    name: "swift-vllm",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "swift-vllm", targets: ["swift-vllm"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.24.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // Pure Swift, no project dependencies.
        .target(name: "VLLMCore", swiftSettings: strict),
        // Structured outputs: JSON Schema / regex / EBNF → grammar → token masks. A leaf, like the tokenizers.
        .target(name: "VLLMGrammar", swiftSettings: strict),
        .target(name: "VLLMTokenizers", swiftSettings: strict),
        .target(name: "VLLMTemplates", swiftSettings: strict),

        // Compute: the Backend protocol, and its implementations.
        .target(name: "VLLMCompute", swiftSettings: strict),
        .target(name: "VLLMCPU", dependencies: ["VLLMCompute"], swiftSettings: strict + cpuKernels),
        .target(name: "CCUDA", linkerSettings: [.linkedLibrary("dl")]),
        // Kernels/*.cu and *.cuh are embedded in the binary (PackageResources) and compiled by NVRTC at run time.
        .target(name: "VLLMCUDA", dependencies: ["VLLMCompute", "CCUDA"], resources: [.embedInCode("Kernels")],
                swiftSettings: strict),

        // Models on top of the Backend protocol.
        .target(name: "VLLMModels", dependencies: ["VLLMCompute"], swiftSettings: strict),

        // Engine: scheduler + model runner + sampler glue.
        .target(
            name: "VLLMEngine",
            dependencies: ["VLLMCore", "VLLMCompute", "VLLMModels", "VLLMTokenizers", "VLLMGrammar"],
            swiftSettings: strict),

        // OpenAI-compatible HTTP server on top of the engine.
        .target(
            name: "VLLMServer",
            dependencies: [
                "VLLMCore", "VLLMEngine", "VLLMTemplates", "VLLMGrammar",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict),

        // Hub ids → huggingface_hub's cache layout, downloading what is missing.
        .target(
            name: "VLLMHub",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict),

        // Load generators users run against any OpenAI-compatible server: `bench serve` (vLLM's), `bench quality`.
        .target(
            name: "VLLMBench",
            dependencies: [
                "VLLMTokenizers", "VLLMTemplates",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict),

        // check-gpu: every op against the CPU backend, whole models against transformers, decode profiles.
        .target(
            name: "VLLMGPUCheck",
            dependencies: ["VLLMCompute", "VLLMCore", "VLLMCPU", "VLLMCUDA", "VLLMModels", "VLLMEngine"],
            swiftSettings: strict),

        .executableTarget(
            name: "swift-vllm",
            dependencies: [
                "VLLMCore", "VLLMCompute", "VLLMCPU", "VLLMCUDA", "VLLMGPUCheck", "VLLMModels", "VLLMEngine",
                "VLLMTokenizers", "VLLMTemplates", "VLLMServer", "VLLMGrammar", "VLLMHub", "VLLMBench",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),

        .testTarget(
            name: "VLLMGrammarTests", dependencies: ["VLLMGrammar", "VLLMTokenizers"], exclude: ["Goldens"], swiftSettings: strict),
        .testTarget(name: "VLLMComputeTests", dependencies: ["VLLMCompute", "VLLMCPU", "VLLMCUDA"], swiftSettings: strict),
        .testTarget(
            name: "VLLMServerTests",
            dependencies: [
                "VLLMServer", "VLLMCore", "VLLMEngine", "VLLMCompute", "VLLMCPU", "VLLMTemplates",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            exclude: ["Goldens"],
            swiftSettings: strict),
        .testTarget(name: "VLLMCoreTests", dependencies: ["VLLMCore"], exclude: ["Goldens"], swiftSettings: strict),
        .testTarget(
            name: "SwiftVLLMTests",
            dependencies: ["swift-vllm", "VLLMCore", "VLLMServer", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strict),
        .testTarget(
            name: "VLLMHubTests",
            dependencies: [
                "VLLMHub",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict),
        .testTarget(
            name: "VLLMBenchTests",
            dependencies: [
                "VLLMBench", "VLLMTokenizers",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            exclude: ["Goldens"], swiftSettings: strict),
        .testTarget(
            name: "VLLMCPUTests", dependencies: ["VLLMCPU", "VLLMCompute"], exclude: ["Goldens"], swiftSettings: strict),
        .testTarget(name: "VLLMCUDATests", dependencies: ["VLLMCUDA", "VLLMCompute"], swiftSettings: strict),
        .testTarget(
            name: "VLLMEngineTests", dependencies: ["VLLMEngine", "VLLMCore", "VLLMCompute", "VLLMCPU", "VLLMModels", "VLLMTokenizers"],
            exclude: ["Goldens"], swiftSettings: strict),
        .testTarget(
            name: "VLLMModelsTests", dependencies: ["VLLMModels", "VLLMCPU", "VLLMCompute", "VLLMCore", "VLLMEngine", "VLLMTokenizers"],
            exclude: ["Goldens"], swiftSettings: strict),
        .testTarget(
            name: "VLLMTemplatesTests", dependencies: ["VLLMTemplates"], resources: [.copy("Goldens")],
            swiftSettings: strict),
        .testTarget(
            name: "VLLMTokenizersTests", dependencies: ["VLLMTokenizers"], exclude: ["Goldens"], swiftSettings: strict),
    ]
)
