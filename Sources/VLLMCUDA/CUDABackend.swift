import CCUDA
import VLLMCompute

/// The CUDA backend: activations, weights and KV cache of one dtype (bf16, or f32 for `--dtype float32`)
/// on one GPU, every op a kernel of Kernels/*.cu (compiled by NVRTC for the device on first use) or a
/// cuBLASLt matmul, all queued on one stream. Only sampled token ids and requested logprobs come back
/// to the host.
public final class CUDABackend: Backend, Sendable {
    public let context: CUDAContext
    public let stream: CUDAStream
    public let allocator: CUDAAllocator
    let kernels: CUDAKernels
    let blasLt: BlasLtMatmul
    let profiler: CUDAOpProfiler
    /// Small uploads (step inputs, sampler parameters) go through pinned memory, never waiting for the stream.
    let uploads: UploadStaging
    /// Sampled tokens come back through pinned memory, queued behind the sampler.
    let readbacks: ReadbackSlots
    /// The counters of launches split over CTAs (decode_attention.cu, lora.cu's shrink) [≥ CTAs of a launch] int32,
    /// zero between launches; made on first use and grown (zeroed) when a launch needs more (`splitCounters`).
    let splitLaunchCounters = Protected<Tensor?>(nil)
    /// The ops' per-step temporaries (split-attention partials, sampler buffers), one buffer per purpose,
    /// kept for the backend's life and grown to the largest size asked (`scratch`).
    let scratchBuffers = Protected([Scratch: Tensor]())
    /// While a graph is being recorded: the buffers its kernels are handed that it must keep alive.
    let captureRetained = Protected<[Tensor]?>(nil)
    /// The activation the last kernel wrote and quantized for an FP8 linear (its address and count, and the launch
    /// count after it): `quantizedInputWritten`, `takeQuantizedInput`.
    let quantizedInput = Protected<(address: UInt, count: Int, launch: Int, grouped: Bool)?>(nil)

    public var name: String { "cuda:\(context.ordinal) (\(context.deviceName))" }
    /// fp8 caches (e4m3, e5m2) where the tensor-core attention kernels read them: bf16 activations, head
    /// size 64 or 128, sm_80 or later.
    public func kvCacheDTypes(headSize: Int) -> [DType] {
        activationDType == .bfloat16 && (headSize == 64 || headSize == 128) && context.computeCapability.major >= 8
            ? [.float8E4M3, .float8E5M2] : []
    }

    /// The kernels' name of an fp8 format (`reshape_and_cache_fp8_e4m3`, `decode_attention_mma_e5m2_d128`…).
    static func float8Name(_ format: Float8Format) -> String { format == .e4m3fn ? "e4m3" : "e5m2" }
    /// bf16 (rounding where PyTorch's bf16 ops round) or f32 (rounding nowhere, TF32 off).
    public let activationDType: DType
    public func weightDType(for checkpointDType: DType) -> DType { checkpointDType == .int32 ? .int32 : activationDType }

    /// Opens GPU `ordinal`. Throws a `CUDAError` naming every library path it tried when there is no
    /// driver, NVRTC or cuBLASLt, or no such device.
    /// - Parameters:
    ///   - kernelCacheDirectory: where compiled kernels are kept (`nil`: no disk cache).
    ///   - activationDType: `.bfloat16` or `.float32`; weights are stored in it too.
    public init(ordinal: Int = 0, kernelCacheDirectory: String? = NVRTCCompiler.defaultCacheDirectory,
                activationDType: DType = .bfloat16) throws {
        guard activationDType == .bfloat16 || activationDType == .float32 else {
            throw CUDAError("the CUDA backend runs in bfloat16 or float32, not \(activationDType)")
        }
        self.activationDType = activationDType
        context = try CUDAContext(ordinal: ordinal)
        stream = try CUDAStream(context: context)
        allocator = CUDAAllocator(context: context)
        let compiler = try NVRTCCompiler(
            computeCapability: (context.computeCapability.major, context.computeCapability.minor),
            cacheDirectory: kernelCacheDirectory)
        kernels = CUDAKernels(context: context, compiler: compiler)
        blasLt = try BlasLtMatmul(context: context, stream: stream, allocator: allocator)
        profiler = CUDAOpProfiler(context: context, stream: stream)
        uploads = UploadStaging(context: context, stream: stream)
        readbacks = ReadbackSlots(context: context, stream: stream)
    }

    /// Whether a CUDA driver and at least one device are present (for `--device auto`).
    public static func isDeviceAvailable() -> Bool {
        (try? CUDAContext(ordinal: 0)) != nil
    }

    /// Compiles (or reads from the disk cache) and loads every kernel family on background threads, and returns at
    /// once: the engine calls it as the backend opens, so that NVRTC runs while the weights load and the first steps
    /// find the families they need loaded. On a fresh machine the first W3 run of GPTQ-int4 compiled
    /// linear_int4_wgmma inside its decode steps, 38.2 against 53.3 req/s warm (docs/benchmarks.md, session 19).
    public func loadKernelsInBackground() {
        kernels.loadInBackground(KernelSource.families)
    }

    /// Compiles (or loads from the cache) and loads every kernel family; returns each one's origin.
    public func loadAllKernels() throws -> [(family: String, origin: String)] {
        try KernelSource.families.map { family in
            let origin = try kernels.load(family)
            return (family.family, origin?.rawValue ?? "loaded")
        }
    }

    /// The entry-point suffix of the kernels over activations: `bf16` or `f32`.
    var kernelSuffix: String { activationDType == .float32 ? "f32" : "bf16" }

    func launch(_ name: String, in family: String, grid: (Int, Int, Int), block: (Int, Int, Int),
                sharedBytes: Int = 0, _ arguments: [KernelArgument]) throws {
        try kernels.launch(name, in: family, grid: grid, block: block, sharedBytes: sharedBytes,
                           stream: stream, arguments: arguments)
        try profiler.mark(name)
    }

    var driver: CCUDADriver { context.driver.raw }

    func check(_ result: CUresult, _ call: @autoclosure () -> String) throws {
        try context.driver.check(result, call())
    }
}

/// What a scratch buffer is for: two temporaries of one op never share one.
enum Scratch: Hashable {
    case attentionAccumulators, attentionMaxima, attentionSums
    case samplerInputs, samplerWork, samplerCounts, samplerResult, tokenMasks
    case argmaxValues, argmaxIds, argmaxResult
    case int4Dequantized, int4Gathered, int4Partials, fp8Dequantized, fp8PaddedOutput, fp8Partials, fp8Activations, fp8ActivationScales, fp8CacheKeys, fp8CacheValues, loraShrunk
}

extension CUDABackend {
    /// A `shape` `dtype` view of the `purpose` buffer, which grows (to a power of two of bytes) when too
    /// small. Its previous contents are undefined. Ops on the one stream run in order, so the next op that
    /// takes the same buffer never overlaps the one before; a buffer outgrown goes back to the
    /// allocator, stream-ordered after the work that used it. Steady state allocates nothing: a step of a
    /// new size no longer costs a cuMemAlloc per temporary.
    func scratch(_ purpose: Scratch, shape: [Int], dtype: DType) throws -> Tensor {
        let bytes = shape.reduce(1, *) * dtype.size
        let buffer = try scratchBuffers.withLock { buffers in
            if let buffer = buffers[purpose], buffer.byteCount >= bytes { return buffer }
            var size = 4096
            while size < bytes { size *= 2 }
            let buffer = try allocate(shape: [size / 4], dtype: .int32)
            buffers[purpose] = buffer
            return buffer
        }
        retainDuringCapture(buffer)
        return Tensor(storage: buffer.storage, byteOffset: buffer.byteOffset, shape: shape, dtype: dtype)
    }
}

/// A device pointer as a kernel argument.
extension Tensor {
    var device: KernelArgument { .pointer(UInt64(address)) }
    var devicePointer: CUdeviceptr { CUdeviceptr(address) }
}

/// Shape and dtype checks that name the op and what was wrong.
func require(_ condition: Bool, _ op: String, _ message: @autoclosure () -> String) throws {
    if !condition { throw BackendError("\(op): \(message())") }
}

extension CUDABackend: DeviceMemoryReporting {
    public func memoryStats() throws -> DeviceMemoryStats {
        DeviceMemoryStats(totalBytes: context.totalMemory, bytesInUse: allocator.bytesInUse,
                          peakBytesInUse: allocator.peakBytesInUse)
    }

    public func resetPeakMemory() { allocator.resetPeak() }

    public func releaseCachedMemory() throws { try allocator.emptyCache() }
}
