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
            // Dummy weights are made on the backend, each part's rows from its own name's key.
            let tensor = try backend.allocate(shape: shape, dtype: target)
            var row = 0
            for part in parts {
                try backend.fillDummy(tensor.rows(row..<row + part.shape[0]), key: Self.dummyKey(name: part.name, seed: seed))
                row += part.shape[0]
            }
            return tensor
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

    /// The key of a tensor's dummy values (`Backend.fillDummy`): a function of the seed and the tensor's
    /// name alone, so the values do not depend on load order, backend or thread count.
    static func dummyKey(name: String, seed: UInt64) -> UInt64 {
        name.utf8.reduce(SamplingRandom.mix(seed)) { SamplingRandom.mix($0 ^ UInt64($1)) }
    }
}
