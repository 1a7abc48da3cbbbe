import VLLMCompute

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The reference backend: plain, multithreaded Swift over host memory, f32 activations.
///
/// Every op here is the numerical oracle the CUDA kernels are tested against, so clarity wins over
/// cleverness except in `linear` and `pagedAttention`, where the time goes. Weights of any float
/// checkpoint dtype are widened to f32 once, at load.
public final class CPUBackend: Backend {
    public let name = "cpu"
    public let activationDType = DType.float32
    /// Work items are spread over this many threads.
    public let numThreads: Int

    public init(numThreads: Int? = nil) {
        self.numThreads = max(1, numThreads ?? ParallelFor.availableCores)
    }

    public func weightDType(for checkpointDType: DType) -> DType { .float32 }

    /// fp8 caches of either format, any head size: written as fp8(x / scale), read back exactly (the oracle).
    public func kvCacheDTypes(headSize: Int) -> [DType] { [.float8E4M3, .float8E5M2] }

    // MARK: Memory

    public func allocate(shape: [Int], dtype: DType) throws -> Tensor {
        let byteCount = max(shape.reduce(1, *) * dtype.size, 1)
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, 64, byteCount) == 0, let raw else {
            throw BackendError("cpu: cannot allocate \(byteCount) bytes for \(shape) \(dtype)")
        }
        let storage = DeviceStorage(address: UInt(bitPattern: raw), byteCount: byteCount) { address in
            free(UnsafeMutableRawPointer(bitPattern: address))
        }
        return Tensor(storage: storage, shape: shape, dtype: dtype)
    }

    public func upload(_ bytes: UnsafeRawBufferPointer, sourceDType: DType, shape: [Int], dtype: DType) throws -> Tensor {
        let count = shape.reduce(1, *)
        guard bytes.count == count * sourceDType.size else {
            throw BackendError("cpu: upload of \(shape) \(sourceDType) got \(bytes.count) bytes, expected \(count * sourceDType.size)")
        }
        let tensor = try allocate(shape: shape, dtype: dtype)
        if sourceDType == dtype {
            tensor.rawPointer.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
            return tensor
        }
        guard dtype.isFloatingPoint && sourceDType.isFloatingPoint else {
            throw BackendError("cpu: cannot convert \(sourceDType) to \(dtype)")
        }
        parallelFor(count, grain: 1 << 16) { range in
            for i in range { tensor.store(sourceDType.loadFloat(from: bytes.baseAddress!, at: i), at: i) }
        }
        return tensor
    }

    public func copy(_ values: [Int32], into tensor: Tensor) throws {
        guard tensor.dtype == .int32, values.count == tensor.count else {
            throw BackendError("cpu: copy of \(values.count) int32 values into \(tensor)")
        }
        values.withUnsafeBytes { tensor.rawPointer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    }

    public func downloadFloats(_ tensor: Tensor) throws -> [Float] {
        guard tensor.dtype.isFloatingPoint else { throw BackendError("cpu: downloadFloats of \(tensor)") }
        return (0..<tensor.count).map { tensor.load($0) }
    }

    public func downloadInt32(_ tensor: Tensor) throws -> [Int32] {
        guard tensor.dtype == .int32 else { throw BackendError("cpu: downloadInt32 of \(tensor)") }
        return Array(UnsafeBufferPointer(start: tensor.int32Pointer, count: tensor.count))
    }

    public func copy(_ source: Tensor, to destination: Tensor) throws {
        guard source.shape == destination.shape, source.dtype == destination.dtype else {
            throw BackendError("cpu: copy \(source) to \(destination)")
        }
        destination.rawPointer.copyMemory(from: source.rawPointer, byteCount: source.byteCount)
    }

    public func synchronize() throws {}

    // MARK: Threads

    /// Runs `body` over `0..<count` split into contiguous chunks of at least `grain` items.
    func parallelFor(_ count: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
        ParallelFor.chunks(count, threads: numThreads, grain: grain, body)
    }
}

/// Host access to a CPU tensor's memory. Only valid for tensors this backend made.
extension Tensor {
    var rawPointer: UnsafeMutableRawPointer { UnsafeMutableRawPointer(bitPattern: address)! }
    var floatPointer: UnsafeMutablePointer<Float> {
        precondition(dtype == .float32, "cpu: \(self) is not float32")
        return rawPointer.assumingMemoryBound(to: Float.self)
    }
    var int32Pointer: UnsafeMutablePointer<Int32> {
        precondition(dtype == .int32, "cpu: \(self) is not int32")
        return rawPointer.assumingMemoryBound(to: Int32.self)
    }

    func load(_ index: Int) -> Float { dtype.loadFloat(from: rawPointer, at: index) }

    func store(_ value: Float, at index: Int) { dtype.storeFloat(value, to: rawPointer, at: index) }
}
