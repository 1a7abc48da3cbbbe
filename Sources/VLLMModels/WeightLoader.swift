import Dispatch
import FoundationEssentials
import VLLMCompute

/// Where weights come from: a checkpoint on disk, or random values of the configured shapes
/// (`--load-format dummy`, as vLLM's: uniform in [-1e-3, 1e-3], deterministic from the seed).
public enum LoadFormat: Sendable, Equatable {
    case safetensors
    case dummy(seed: UInt64)
}

/// Reads named tensors, converts them to the backend's weight dtype and uploads them.
/// Weight names are HF's; each model file maps its modules to them in one place.
struct WeightLoader {
    let backend: any Backend
    let checkpoint: Checkpoint?
    let seed: UInt64
    /// Checkpoint dtype (or `--dtype`), from which the backend picks its storage dtype.
    let dtype: DType

    init(backend: any Backend, directory: URL?, format: LoadFormat, dtype: DType) throws {
        self.backend = backend
        self.dtype = dtype
        switch format {
        case .safetensors:
            guard let directory else { throw ModelError("a model folder is needed to load safetensors weights") }
            checkpoint = try Checkpoint(directory: directory)
            seed = 0
        case .dummy(let seed):
            checkpoint = nil
            self.seed = seed
        }
    }

    func contains(_ name: String) -> Bool { checkpoint?.contains(name) ?? true }

    /// One tensor of exactly `shape`.
    func load(_ name: String, shape: [Int]) throws -> Tensor {
        try loadConcatenated([(name, shape)])
    }

    /// Several tensors stacked along dim 0 into one (e.g. gate_proj and up_proj → one GEMM).
    func loadConcatenated(_ parts: [(name: String, shape: [Int])]) throws -> Tensor {
        let rows = parts.map { $0.shape[0] }.reduce(0, +)
        let shape = [rows] + parts[0].shape.dropFirst()
        let target = backend.weightDType(for: dtype)
        guard let checkpoint else {
            var values: [Float] = []
            values.reserveCapacity(shape.reduce(1, *))
            for part in parts { values += Self.dummyValues(name: part.name, count: part.shape.reduce(1, *), seed: seed) }
            return try backend.makeTensor(values, shape: shape, dtype: target)
        }
        let loaded = try parts.map { try checkpoint.tensor($0.name, shape: $0.shape) }
        if loaded.count == 1 {
            return try backend.upload(loaded[0].bytes, sourceDType: loaded[0].entry.dtype, shape: shape, dtype: target)
        }
        // Stack on the host in the first part's dtype, widening the others if they differ.
        let sourceDType = loaded.allSatisfy({ $0.entry.dtype == loaded[0].entry.dtype }) ? loaded[0].entry.dtype : .float32
        var buffer = [UInt8]()
        buffer.reserveCapacity(shape.reduce(1, *) * sourceDType.size)
        for part in loaded {
            if part.entry.dtype == sourceDType {
                buffer += part.bytes
            } else {
                let floats = Self.widen(part.bytes, part.entry.dtype)
                floats.withUnsafeBytes { buffer += $0 }
            }
        }
        return try buffer.withUnsafeBytes { try backend.upload($0, sourceDType: sourceDType, shape: shape, dtype: target) }
    }

    static func widen(_ bytes: UnsafeRawBufferPointer, _ dtype: DType) -> [Float] {
        guard let base = bytes.baseAddress else { return [] }
        return (0..<(bytes.count / dtype.size)).map { dtype.loadFloat(from: base, at: $0) }
    }

    /// Uniform in [-1e-3, 1e-3], element `i` a function of (seed, tensor name, i) alone: independent of
    /// load order and thread count, so it is filled in parallel.
    static func dummyValues(name: String, count: Int, seed: UInt64) -> [Float] {
        let key = name.utf8.reduce(SamplingRandom.mix(seed)) { SamplingRandom.mix($0 ^ UInt64($1)) }
        var values = [Float](repeating: 0, count: count)
        values.withUnsafeMutableBufferPointer { buffer in
            let chunks = max(1, min(64, count >> 16))
            let out = UncheckedBuffer(buffer)
            DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
                for i in (chunk * count / chunks)..<((chunk + 1) * count / chunks) {
                    let bits = SamplingRandom.mix(key ^ UInt64(i))
                    out.buffer[i] = (Float(bits >> 40) / 16_777_216 * 2 - 1) * 1e-3
                }
            }
        }
        return values
    }
}

/// A buffer written by disjoint ranges from several threads.
// @unchecked: each concurrentPerform iteration writes its own index range, and the caller waits for all.
private struct UncheckedBuffer: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<Float>
    init(_ buffer: UnsafeMutableBufferPointer<Float>) { self.buffer = buffer }
}
