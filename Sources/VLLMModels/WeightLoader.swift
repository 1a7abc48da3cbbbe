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
    /// Whether quantized weights go to the backend's int4 / fp8 kernels where it has them; false dequantizes every one
    /// to the weight dtype (check-gpu's baseline for them).
    let quantizedKernels: Bool

    init(backend: any Backend, directory: URL?, format: LoadFormat, dtype: DType, quantization: QuantizationConfig? = nil,
         quantizedKernels: Bool = true) throws {
        self.backend = backend
        self.dtype = dtype
        self.quantization = quantization
        self.quantizedKernels = quantizedKernels
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

    /// One tensor of `shape` (the checkpoint's), or the part of it a tensor-parallel rank holds: `rows` of its
    /// leading dimension, zero rows appended up to `paddedRows` (a vocabulary split unevenly).
    func load(_ name: String, shape: [Int], rows: Range<Int>? = nil, paddedRows: Int? = nil) throws -> Tensor {
        try loadConcatenated([(name, shape, rows)], paddedRows: paddedRows)
    }

    /// Several tensors stacked along dim 0 into one (e.g. gate_proj and up_proj → one GEMM). A tensor-parallel
    /// rank takes `rows` of each part (column-parallel) or `columns` of the matrices' second dimension
    /// (row-parallel), and `paddedRows` appends zero rows. Only those bytes are read from the mapped file.
    func loadConcatenated(_ parts: [(name: String, shape: [Int], rows: Range<Int>?)], columns: Range<Int>? = nil,
                          paddedRows: Int? = nil) throws -> Tensor {
        let partRows = parts.map { $0.rows ?? 0 ..< $0.shape[0] }
        let rows = max(partRows.map(\.count).reduce(0, +), paddedRows ?? 0)
        let width = columns?.count ?? parts[0].shape.dropFirst().reduce(1, *)
        let shape = [rows] + (columns == nil ? Array(parts[0].shape.dropFirst()) : [width])
        let target = backend.weightDType(for: dtype)
        guard let checkpoint else {
            // Dummy weights are made on the backend, each part's rows from its own name's key.
            let tensor = try backend.allocate(shape: shape, dtype: target)
            var row = 0
            for (part, range) in zip(parts, partRows) {
                try backend.fillDummy(tensor.rows(row..<row + range.count), key: Self.dummyKey(name: part.name, seed: seed))
                row += range.count
            }
            if row < rows { try backend.fillDummy(tensor.rows(row..<rows), key: Self.dummyKey(name: parts[0].name + "#padding", seed: seed)) }
            return tensor
        }
        let loaded = try parts.map { try checkpoint.tensor($0.name, shape: $0.shape) }
        if loaded.count == 1 && partRows[0] == 0 ..< parts[0].shape[0] && rows == parts[0].shape[0] && columns == nil {
            return try backend.upload(loaded[0].bytes, sourceDType: loaded[0].entry.dtype, shape: shape, dtype: target)
        }
        // Stack on the host in the first part's dtype, widening the others if they differ.
        let sourceDType = loaded.allSatisfy({ $0.entry.dtype == loaded[0].entry.dtype }) ? loaded[0].entry.dtype : .float32
        var buffer = [UInt8]()
        buffer.reserveCapacity(rows * width * sourceDType.size)
        for (part, range) in zip(loaded, partRows) {
            let size = part.entry.dtype.size, rowLength = part.entry.shape.dropFirst().reduce(1, *)
            let piece = columns ?? 0 ..< rowLength
            for row in range {
                let bytes = UnsafeRawBufferPointer(rebasing: part.bytes[(row * rowLength + piece.lowerBound) * size
                                                                      ..< (row * rowLength + piece.upperBound) * size])
                if part.entry.dtype == sourceDType {
                    buffer += bytes
                } else {
                    Self.widen(bytes, part.entry.dtype).withUnsafeBytes { buffer += $0 }
                }
            }
        }
        buffer += [UInt8](repeating: 0, count: rows * width * sourceDType.size - buffer.count)
        return try buffer.withUnsafeBytes { try backend.upload($0, sourceDType: sourceDType, shape: shape, dtype: target) }
    }

    /// A linear layer's weight [ΣN, K]: the parts (`prefix` with its `n` outputs, e.g. q_proj, k_proj and
    /// v_proj) stacked along N. Under tensor parallelism a rank holds `rows` of each part (column-parallel) or
    /// `columns` of all of them (row-parallel), and `paddedRows` pads the stack with zero rows. 4- and 8-bit int parts
    /// stay packed on a backend with int4 kernels, fp8 parts with a scale per row stay e4m3 on a backend with fp8
    /// kernels; other quantized parts are dequantized on the host (`QuantizedLinearReader`). `inDecoderLayer`: a
    /// decoder layer's linear, which `--quantization fp8` quantizes and dummy weights of a quantized checkpoint
    /// pack (lm_head is neither).
    func loadLinear(_ parts: [(prefix: String, n: Int, rows: Range<Int>?)], k: Int, columns: Range<Int>? = nil,
                    paddedRows: Int? = nil, inDecoderLayer: Bool = true) throws -> LinearWeight {
        let dense = parts.map { ($0.prefix + ".weight", [$0.n, k], $0.rows) }
        guard let quantization else { return .dense(try loadConcatenated(dense, columns: columns, paddedRows: paddedRows)) }
        let partRows = parts.map { $0.rows ?? 0 ..< $0.n }
        let shardColumns = columns ?? 0 ..< k
        let stackedRows = partRows.map(\.count).reduce(0, +)
        let numRows = max(stackedRows, paddedRows ?? 0)
        let int4Backend = quantizedKernels ? backend as? any Int4LinearBackend : nil
        let fp8Backend = quantizedKernels ? backend as? any FP8LinearBackend : nil
        guard let checkpoint else {
            // Dummy weights: packed ones where the backend has int4 (fp8) kernels and the checkpoint would be 4- or
            // 8-bit ints (fp8 with a scale per row) — for the layers a GPTQ module list names, as vLLM builds them; a fused
            // layer's parts all or none.
            let listed = parts.map { quantization.quantizes(layer: $0.prefix) }
            guard listed.allSatisfy({ $0 == listed[0] }) else {
                throw ModelError("quantization_config.modules_in_block_to_quantize names some but not all of "
                                 + "\(parts.map(\.prefix).joined(separator: ", ")), which are one fused layer: all or none")
            }
            let key = Self.dummyKey(name: parts[0].prefix, seed: seed)
            if inDecoderLayer, listed[0] {
                if let int4Backend, let (bits, groupSize) = Self.intCodes(quantization, k: k),
                   let weight = try int4Backend.makeDummyInt4Weight(n: numRows, k: shardColumns.count,
                                                                    groupSize: min(groupSize, shardColumns.count), bits: bits, key: key) {
                    return .int4(weight)
                }
                if let fp8Backend, let blockSize = Self.fp8Blocks(quantization),
                   let weight = try fp8Backend.makeDummyFP8Weight(n: numRows, k: shardColumns.count, blockSize: blockSize, key: key) {
                    return .fp8(weight)
                }
            }
            return .dense(try loadConcatenated(dense, columns: columns, paddedRows: paddedRows))
        }
        let reader = QuantizedLinearReader(checkpoint: checkpoint, config: quantization)
        let online = inDecoderLayer && quantization.weights == .fp8Online
        let stored = try parts.map { try reader.read($0.prefix, n: $0.n, k: k) }
        if !online && stored.allSatisfy({ $0 == nil }) {
            return .dense(try loadConcatenated(dense, columns: columns, paddedRows: paddedRows))
        }
        // 4- and 8-bit ints stay packed where the backend takes the shard's groups.
        let ints = zip(stored, partRows).compactMap { stored, rows -> IntQuantizedWeights? in
            guard case .ints(let weights) = stored else { return nil }
            return weights.rows(rows).columns(shardColumns)
        }
        if let int4Backend, ints.count == parts.count, numRows == ints.map(\.n).reduce(0, +),
           let stacked = IntQuantizedWeights.stacked(ints), let weight = try int4Backend.makeInt4Weight(stacked) {
            return .int4(weight)
        }
        // fp8 parts, as stored or (`--quantization fp8`) each part quantized whole at load.
        let fp8Parts = try zip(parts, stored).map { part, stored -> Float8QuantizedWeights? in
            if case .fp8(let weights) = stored { return weights }
            guard online else { return nil }
            let (entry, bytes) = try checkpoint.tensor(part.prefix + ".weight", shape: [part.n, k])
            return Float8QuantizedWeights(quantizingPerTensor: Self.widen(bytes, entry.dtype), n: part.n, k: k)
        }
        if let fp8Backend, case let shards = zip(fp8Parts, partRows).compactMap({ $0?.slice(rows: $1, columns: shardColumns) }),
           shards.count == parts.count, let stacked = Float8QuantizedWeights.stacked(shards, padding: numRows - stackedRows),
           let weight = try fp8Backend.makeFP8Weight(stacked) {
            return .fp8(weight)
        }
        // Everything else as floats on the host: each part's rows and columns of its [n, K] values.
        var values = [Float]()
        values.reserveCapacity(numRows * shardColumns.count)
        for (index, part) in parts.enumerated() {
            let partValues: [Float]
            if let weights = fp8Parts[index] {
                partValues = weights.dequantized()
            } else {
                switch stored[index] {
                case .ints(let weights): partValues = weights.dequantized()
                case .fp8(let weights): partValues = weights.dequantized()
                case nil:
                    let (entry, bytes) = try checkpoint.tensor(part.prefix + ".weight", shape: [part.n, k])
                    partValues = Self.widen(bytes, entry.dtype)
                }
            }
            for row in partRows[index] {
                values += partValues[row * k + shardColumns.lowerBound ..< row * k + shardColumns.upperBound]
            }
        }
        values += [Float](repeating: 0, count: numRows * shardColumns.count - values.count)
        return .dense(try values.withUnsafeBytes {
            try backend.upload($0, sourceDType: .float32, shape: [numRows, shardColumns.count], dtype: backend.weightDType(for: dtype))
        })
    }

    /// What `makeDummyFP8Weight` takes for an fp8 scheme: `.some(nil)` for a scale a row (or a tensor, or `--quantization
    /// fp8`), `.some(blocks)` for block scales; nil for other schemes.
    static func fp8Blocks(_ quantization: QuantizationConfig) -> (n: Int, k: Int)?? {
        switch quantization.weights {
        case .fp8Online: return .some(nil)
        case .fp8(let block?): return .some((block[0], block[1]))
        case .fp8(nil): return .some(nil)
        default: return nil
        }
    }

    /// The bits and group size of an int scheme over `k` inputs (k itself for one group per channel); nil for others.
    static func intCodes(_ config: QuantizationConfig, k: Int) -> (bits: Int, groupSize: Int)? {
        switch config.weights {
        case .gptq(let bits, let groupSize, _, _, _), .packed(let bits, let groupSize, _): (bits, groupSize ?? k)
        case .awq(let bits, let groupSize): (bits, groupSize)
        case .int8: (8, k)
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
