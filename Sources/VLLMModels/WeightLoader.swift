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
    /// How the checkpoint's linear layers are quantized, if they are.
    let quantization: QuantizationConfig?

    init(backend: any Backend, directory: URL?, format: LoadFormat, dtype: DType, quantization: QuantizationConfig? = nil) throws {
        self.backend = backend
        self.dtype = dtype
        self.quantization = quantization
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

    /// A linear layer's weight [ΣN, K]: the parts (`prefix` with its `n` outputs, e.g. q_proj, k_proj and
    /// v_proj) stacked along N. 4-bit int parts stay packed on a backend with int4 kernels; other quantized
    /// parts are dequantized on the host (`QuantizedLinearReader`). `inDecoderLayer`: a decoder layer's linear,
    /// which `--quantization fp8` quantizes and dummy weights of a 4-bit checkpoint pack (lm_head is neither).
    func loadLinear(_ parts: [(prefix: String, n: Int)], k: Int, inDecoderLayer: Bool = true) throws -> LinearWeight {
        let dense = parts.map { ($0.prefix + ".weight", [$0.n, k]) }
        guard let quantization else { return .dense(try loadConcatenated(dense)) }
        let int4Backend = backend as? any Int4LinearBackend
        guard let checkpoint else {
            // Dummy weights: packed ones where the backend has int4 kernels and the checkpoint would be 4-bit ints.
            if let int4Backend, inDecoderLayer, let groupSize = Self.int4GroupSize(quantization, k: k),
               let weight = try int4Backend.makeDummyInt4Weight(n: parts.map(\.n).reduce(0, +), k: k, groupSize: groupSize,
                                                                key: Self.dummyKey(name: parts[0].prefix, seed: seed)) {
                return .int4(weight)
            }
            return .dense(try loadConcatenated(dense))
        }
        let reader = QuantizedLinearReader(checkpoint: checkpoint, config: quantization)
        let online = inDecoderLayer && quantization.weights == .fp8Online
        let stored = try parts.map { try reader.read($0.prefix, n: $0.n, k: k) }
        if !online && stored.allSatisfy({ $0 == nil }) { return .dense(try loadConcatenated(dense)) }
        let ints = stored.compactMap { if case .ints(let weights) = $0 { weights } else { nil } }
        if let int4Backend, ints.count == parts.count, ints[0].bits == 4, let stacked = IntQuantizedWeights.stacked(ints),
           let weight = try int4Backend.makeInt4Weight(stacked) {
            return .int4(weight)
        }
        var values = [Float]()
        values.reserveCapacity(parts.map(\.n).reduce(0, +) * k)
        for (part, stored) in zip(parts, stored) {
            var partValues: [Float]
            switch stored {
            case .ints(let weights): partValues = weights.dequantized()
            case .floats(let floats): partValues = floats
            case nil:
                let (entry, bytes) = try checkpoint.tensor(part.prefix + ".weight", shape: [part.n, k])
                partValues = Self.widen(bytes, entry.dtype)
            }
            if online { QuantizedLinearReader.fp8RoundTrip(&partValues) }
            values += partValues
        }
        return .dense(try values.withUnsafeBytes {
            try backend.upload($0, sourceDType: .float32, shape: [values.count / k, k], dtype: backend.weightDType(for: dtype))
        })
    }

    /// The group size of a 4-bit int scheme over `k` inputs (k itself for one group per channel); nil for others.
    static func int4GroupSize(_ config: QuantizationConfig, k: Int) -> Int? {
        switch config.weights {
        case .gptq(4, let groupSize, _, _, _), .packed(4, let groupSize, _): groupSize ?? k
        case .awq(4, let groupSize): groupSize
        default: nil
        }
    }

    /// The first of `names` the checkpoint holds, a float tensor of one element (a scale), as a Float.
    func scalar(_ names: [String]) throws -> Float? {
        guard let checkpoint, let name = names.first(where: checkpoint.contains) else { return nil }
        let (entry, bytes) = try checkpoint.tensor(name, shape: nil, dtypes: [.float32, .float16, .bfloat16])
        guard entry.shape.reduce(1, *) == 1 else {
            throw ModelError("\(checkpoint.directory.path): '\(name)' has shape \(entry.shape), expected one value")
        }
        return entry.dtype.loadFloat(from: bytes.baseAddress!, at: 0)
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
