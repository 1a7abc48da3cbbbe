/// A linear layer's weight as unsigned integer codes with one scale and zero point per (output row, group),
/// on the host: `w[n][k] = (codes[n][k] − zeros[n][g]) · scales[n][g]` with `g = groupIndex[k]` (act-order)
/// or `k / groupSize`. Every int format (GPTQ, AWQ, compressed-tensors pack-quantized) unpacks to this; the
/// CPU backend runs on `dequantized()`, a GPU backend re-lays it for its kernels (`Int4LinearBackend`).
public struct IntQuantizedWeights: Sendable {
    public let n: Int, k: Int, bits: Int, groupSize: Int
    /// Groups of scales and zeros per row: ⌈K / groupSize⌉, or more in a column shard of an act-order weight,
    /// which keeps every group of the whole (`columns(_:)`).
    public let numGroups: Int
    /// The dtype the checkpoint stores scales in: the dequantized product is rounded to it, as the tools do.
    public let scaleDType: DType
    public var codes: [UInt8]     // [N, K]
    public var zeros: [Int32]     // [N, G]
    public var scales: [Float]    // [N, G]
    public var groupIndex: [Int]? // [K], act-order only

    public init(n: Int, k: Int, bits: Int, groupSize: Int, scaleDType: DType, numGroups: Int? = nil) {
        self.n = n
        self.k = k
        self.bits = bits
        self.groupSize = groupSize
        self.scaleDType = scaleDType
        let numGroups = numGroups ?? (k + groupSize - 1) / groupSize
        self.numGroups = numGroups
        codes = [UInt8](repeating: 0, count: n * k)
        zeros = [Int32](repeating: 0, count: n * numGroups)
        scales = [Float](repeating: 0, count: n * numGroups)
    }

    @inline(__always)
    public func group(ofColumn col: Int) -> Int { groupIndex?[col] ?? col / groupSize }

    /// [N, K] floats, each element's product rounded to the scale dtype.
    public func dequantized() -> [Float] {
        var out = [Float](repeating: 0, count: n * k)
        let groups = numGroups
        out.withUnsafeMutableBufferPointer { out in
            ParallelFor.chunks(n, grain: 16) { rows in
                for row in rows {
                    for col in 0..<k {
                        let g = row * groups + group(ofColumn: col)
                        out[row * k + col] = scaleDType.rounded(scales[g] * Float(Int32(codes[row * k + col]) - zeros[g]))
                    }
                }
            }
        }
        return out
    }

    /// Output rows `range`: a column-parallel shard (tensor parallelism).
    public func rows(_ range: Range<Int>) -> IntQuantizedWeights {
        if range == 0 ..< n { return self }
        var shard = IntQuantizedWeights(n: range.count, k: k, bits: bits, groupSize: groupSize, scaleDType: scaleDType,
                                        numGroups: numGroups)
        shard.codes = Array(codes[range.lowerBound * k ..< range.upperBound * k])
        shard.zeros = Array(zeros[range.lowerBound * numGroups ..< range.upperBound * numGroups])
        shard.scales = Array(scales[range.lowerBound * numGroups ..< range.upperBound * numGroups])
        shard.groupIndex = groupIndex
        return shard
    }

    /// Input columns `range`: a row-parallel shard (tensor parallelism). Without act-order the range must start
    /// and end on group boundaries (nil otherwise) and keeps its own groups; one group per row (groupSize = K)
    /// stays one group. With act-order every group is kept and `g_idx` is sliced, as vLLM keeps GPTQ's scales
    /// whole for a row-parallel act-order layer.
    public func columns(_ range: Range<Int>) -> IntQuantizedWeights? {
        if range == 0 ..< k { return self }
        var groups = 0 ..< numGroups
        var size = groupSize
        if groupIndex == nil {
            if groupSize >= k {
                size = range.count
            } else {
                guard range.lowerBound % groupSize == 0, range.count % groupSize == 0 else { return nil }
                groups = range.lowerBound / groupSize ..< range.upperBound / groupSize
            }
        }
        var shard = IntQuantizedWeights(n: n, k: range.count, bits: bits, groupSize: size, scaleDType: scaleDType,
                                        numGroups: groups.count)
        for row in 0..<n {
            shard.codes.replaceSubrange(row * range.count ..< (row + 1) * range.count,
                                        with: codes[row * k + range.lowerBound ..< row * k + range.upperBound])
            shard.zeros.replaceSubrange(row * groups.count ..< (row + 1) * groups.count,
                                        with: zeros[row * numGroups + groups.lowerBound ..< row * numGroups + groups.upperBound])
            shard.scales.replaceSubrange(row * groups.count ..< (row + 1) * groups.count,
                                         with: scales[row * numGroups + groups.lowerBound ..< row * numGroups + groups.upperBound])
        }
        shard.groupIndex = groupIndex.map { Array($0[range]) }
        return shard
    }

    /// An 8-bit weight as a 4-bit one over twice the columns: codes [hi nibbles | lo nibbles], scales [16·s | s],
    /// zeros [z >> 4 | z & 15] — (16h + l − z)·s = (h − z_h)·16s + (l − z_l)·s, so the planes times [x | x] are
    /// the weight times x (each half's products rounded on their own where a backend rounds them). Groups of the
    /// second half follow the first's (act-order: g_idx [g | g + G]); nil where K does not split into whole groups.
    public func nibblePlanes() -> IntQuantizedWeights? {
        guard bits == 8, groupIndex != nil || k % groupSize == 0 else { return nil }
        var planes = IntQuantizedWeights(n: n, k: 2 * k, bits: 4, groupSize: groupSize, scaleDType: scaleDType, numGroups: 2 * numGroups)
        let groups = numGroups
        planes.codes.withUnsafeMutableBufferPointer { planeCodes in
            ParallelFor.chunks(n, grain: 16) { rows in  // (at load: a layer's n · k codes)
                for row in rows {
                    for col in 0..<k {
                        let code = codes[row * k + col]
                        planeCodes[row * 2 * k + col] = code >> 4
                        planeCodes[row * 2 * k + k + col] = code & 0xF
                    }
                }
            }
        }
        for row in 0..<n {
            for g in 0..<groups {
                let (zero, scale) = (zeros[row * groups + g], scales[row * groups + g])
                planes.zeros[row * 2 * groups + g] = zero >> 4
                planes.zeros[row * 2 * groups + groups + g] = zero & 0xF
                planes.scales[row * 2 * groups + g] = 16 * scale
                planes.scales[row * 2 * groups + groups + g] = scale
            }
        }
        planes.groupIndex = groupIndex.map { $0 + $0.map { $0 + numGroups } }
        return planes
    }

    /// Several layers of the same input (q, k and v; gate and up) stacked along N, as one GEMM takes them;
    /// nil when they differ in bits, groups or act-order permutation.
    public static func stacked(_ parts: [IntQuantizedWeights]) -> IntQuantizedWeights? {
        guard let first = parts.first,
              parts.allSatisfy({ $0.k == first.k && $0.bits == first.bits && $0.groupSize == first.groupSize
                  && $0.numGroups == first.numGroups && $0.groupIndex == first.groupIndex }) else { return nil }
        if parts.count == 1 { return first }
        let scaleDType = parts.allSatisfy({ $0.scaleDType == first.scaleDType }) ? first.scaleDType : .float32
        var result = IntQuantizedWeights(n: parts.map(\.n).reduce(0, +), k: first.k, bits: first.bits, groupSize: first.groupSize,
                                         scaleDType: scaleDType, numGroups: first.numGroups)
        result.codes = parts.flatMap(\.codes)
        result.zeros = parts.flatMap(\.zeros)
        result.scales = parts.flatMap(\.scales)
        result.groupIndex = first.groupIndex
        return result
    }
}

/// A 4-bit (or 8-bit) int weight on a backend that multiplies it without dequantizing it to memory first. Its
/// layout is the backend's (`Int4LinearBackend.makeInt4Weight` says which).
public struct Int4Weight: Sendable {
    public var outFeatures: Int
    public var inFeatures: Int
    public var groupSize: Int
    /// The checkpoint's bits: 4, or 8 — held as its two 4-bit planes (`IntQuantizedWeights.nibblePlanes`).
    public var bits: Int
    /// The backend's tensors, in its order (packed codes, scales, zeros, act-order permutation…).
    public var tensors: [Tensor]

    public init(outFeatures: Int, inFeatures: Int, groupSize: Int, bits: Int = 4, tensors: [Tensor]) {
        self.outFeatures = outFeatures
        self.inFeatures = inFeatures
        self.groupSize = groupSize
        self.bits = bits
        self.tensors = tensors
    }
}

/// A linear layer's FP8 e4m3 weight on the host: `w[n][k] = decode(codes[n][k]) · scale`, one scale per output row
/// (a per-tensor scale repeated), or one per `blockSize` block (`fp8` checkpoints' 128×128 blocks). The CPU backend
/// runs on `dequantized()`; a GPU backend with FP8 tensor cores keeps the codes (`FP8LinearBackend`).
public struct Float8QuantizedWeights: Sendable {
    public let n: Int, k: Int
    /// The dtype the checkpoint stores scales in: the dequantized product is rounded to it, as the tools do.
    public let scaleDType: DType
    public var codes: [UInt8]         // [N, K] e4m3fn
    /// [N] (`blockSize` nil), or [⌈N / bn⌉, ⌈K / bk⌉].
    public var scales: [Float]
    public var blockSize: (n: Int, k: Int)?

    public init(n: Int, k: Int, codes: [UInt8], scales: [Float], scaleDType: DType, blockSize: (n: Int, k: Int)? = nil) {
        self.n = n
        self.k = k
        self.codes = codes
        self.scales = scales
        self.scaleDType = scaleDType
        self.blockSize = blockSize
    }

    /// vLLM's online FP8 (`--quantization fp8` on a float checkpoint): one scale per tensor, amax / 448, each
    /// element divided by it and encoded (nearest even, saturating).
    public init(quantizingPerTensor values: [Float], n: Int, k: Int) {
        let amax = values.reduce(Float(0)) { max($0, abs($1)) }
        let scale = amax > 0 ? amax / Float8Format.e4m3fn.maxFinite : 1
        self.init(n: n, k: k, codes: values.map { Float8Format.e4m3fn.encode($0 / scale) },
                  scales: [Float](repeating: scale, count: n), scaleDType: .float32)
    }

    @inline(__always)
    public func scale(row: Int, column: Int) -> Float {
        guard let block = blockSize else { return scales[row] }
        return scales[(row / block.n) * ((k + block.k - 1) / block.k) + column / block.k]
    }

    /// [N, K] floats, each element's product rounded to the scale dtype.
    public func dequantized() -> [Float] {
        var out = [Float](repeating: 0, count: n * k)
        out.withUnsafeMutableBufferPointer { out in
            ParallelFor.chunks(n, grain: 16) { rows in
                for row in rows {
                    for col in 0..<k {
                        out[row * k + col] = scaleDType.rounded(Float8Format.e4m3fn.decode(codes[row * k + col]) * scale(row: row, column: col))
                    }
                }
            }
        }
        return out
    }

    /// Output rows `range` and input columns `columns` (tensor parallelism's shards); nil where a block-scaled weight's
    /// cut is not on its blocks' edges (the caller then takes the dequantized values).
    public func slice(rows range: Range<Int>, columns: Range<Int>) -> Float8QuantizedWeights? {
        if range == 0 ..< n && columns == 0 ..< k { return self }
        var codes = [UInt8]()
        codes.reserveCapacity(range.count * columns.count)
        for row in range { codes += self.codes[row * k + columns.lowerBound ..< row * k + columns.upperBound] }
        guard let block = blockSize else {
            return Float8QuantizedWeights(n: range.count, k: columns.count, codes: codes, scales: Array(scales[range]),
                                          scaleDType: scaleDType)
        }
        func onEdges(_ cut: Range<Int>, _ size: Int, _ whole: Int) -> Bool {
            cut.lowerBound % size == 0 && (cut.upperBound % size == 0 || cut.upperBound == whole)
        }
        guard onEdges(range, block.n, n), onEdges(columns, block.k, k) else { return nil }
        let kBlocks = (k + block.k - 1) / block.k
        let blockColumns = columns.lowerBound / block.k ..< (columns.upperBound + block.k - 1) / block.k
        var blockScales = [Float]()
        for blockRow in range.lowerBound / block.n ..< (range.upperBound + block.n - 1) / block.n {
            blockScales += scales[blockRow * kBlocks + blockColumns.lowerBound ..< blockRow * kBlocks + blockColumns.upperBound]
        }
        return Float8QuantizedWeights(n: range.count, k: columns.count, codes: codes, scales: blockScales, scaleDType: scaleDType,
                                      blockSize: block)
    }

    /// Several layers of the same input stacked along N (each row keeps its scale, or each block), then `padding` zero
    /// rows; nil where the parts' scales differ in kind or block, or a block-scaled part other than the last ends
    /// inside a block.
    public static func stacked(_ parts: [Float8QuantizedWeights], padding: Int = 0) -> Float8QuantizedWeights? {
        guard let first = parts.first, parts.allSatisfy({ $0.k == first.k && $0.blockSize?.n == first.blockSize?.n
                                                            && $0.blockSize?.k == first.blockSize?.k }) else { return nil }
        let scaleDType = parts.allSatisfy({ $0.scaleDType == first.scaleDType }) ? first.scaleDType : .float32
        let n = parts.map(\.n).reduce(0, +) + padding
        var scales = parts.flatMap(\.scales)
        if let block = first.blockSize {
            guard parts.dropLast().allSatisfy({ $0.n % block.n == 0 }) else { return nil }
            let kBlocks = (first.k + block.k - 1) / block.k
            scales += [Float](repeating: 1, count: ((n + block.n - 1) / block.n) * kBlocks - scales.count)
        } else {
            scales += [Float](repeating: 1, count: padding)
        }
        return Float8QuantizedWeights(n: n, k: first.k, codes: parts.flatMap(\.codes) + [UInt8](repeating: 0, count: padding * first.k),
                                      scales: scales, scaleDType: scaleDType, blockSize: first.blockSize)
    }
}

/// An FP8 weight on a backend that multiplies it as FP8 (`FP8LinearBackend.makeFP8Weight` says the layout).
public struct FP8Weight: Sendable {
    public var outFeatures: Int
    public var inFeatures: Int
    /// The backend's tensors, in its order (codes, scales…).
    public var tensors: [Tensor]
    /// The blocks one scale covers (`weight_block_size`: rows, columns); nil for a scale a row.
    public var blockSize: (n: Int, k: Int)?

    public init(outFeatures: Int, inFeatures: Int, tensors: [Tensor], blockSize: (n: Int, k: Int)? = nil) {
        self.outFeatures = outFeatures
        self.inFeatures = inFeatures
        self.tensors = tensors
        self.blockSize = blockSize
    }
}

/// A linear layer's weight as a model holds it.
public enum LinearWeight: Sendable {
    /// [N, K] in the backend's weight dtype.
    case dense(Tensor)
    case int4(Int4Weight)
    case fp8(FP8Weight)
}

/// The op after a linear that `Backend.fusedLinear` folds into it.
public enum LinearEpilogue: Sendable {
    /// out [T, N/2] = `siluAndMul` of the product [T, N] (gate columns, then up).
    case siluAndMul
    /// out [T, N], the residual stream, += the product, rounded as `addRMSNorm` adds (the product rounded first).
    case addToOut
    /// The fused q/k/v projection's product [T, (numHeads + 2·numKVHeads)·headSize] split as `splitQKV` splits it into
    /// the paged cache with a rotary embedding over whole heads: out [T, numHeads·headSize] the rotated query, the
    /// rotated keys and the values to `cache`'s rows `slotMapping[t]` (a negative slot skipped).
    case splitQKV(cache: PagedKVCache, slotMapping: Tensor, positions: Tensor, cosSinCache: Tensor, headSize: Int)

    /// The case's name (profiles, check-gpu's rows).
    public var name: String {
        switch self {
        case .siluAndMul: "siluAndMul"
        case .addToOut: "addToOut"
        case .splitQKV: "splitQKV"
        }
    }

    /// Whether it is `siluAndMul` (out holds half the product's columns).
    public var isGated: Bool {
        if case .siluAndMul = self { return true }
        return false
    }
}

/// A backend with FP8 tensor-core kernels (W8A8: `fp8` checkpoints, compressed-tensors `float-quantized`,
/// `--quantization fp8`): the weight stays e4m3 in device memory (half of bf16's bytes). Backends without it get
/// dense weights.
public protocol FP8LinearBackend: Backend {
    /// The weight in the backend's layout; nil where its kernels do not take it (an old GPU, a block shape they do not
    /// handle): the caller then uploads `weights.dequantized()`.
    func makeFP8Weight(_ weights: Float8QuantizedWeights) throws -> FP8Weight?
    /// Random finite codes and scales of the given shape (`--load-format dummy`), weights of about dummy floats'
    /// magnitude (±1e-3): a scale a row, or one a block of `blockSize` where given.
    func makeDummyFP8Weight(n: Int, k: Int, blockSize: (n: Int, k: Int)?, key: UInt64) throws -> FP8Weight?
    /// `out = x · Wᵀ (+ bias)` as `linear` does, W = the dequantized weight (x may be quantized on the way).
    func linear(_ x: Tensor, weight: FP8Weight, bias: Tensor?, out: Tensor) throws
}

/// A backend with kernels for 4-bit integer weights (W4A16: GPTQ, AWQ, compressed-tensors): the weight stays
/// packed in device memory and is dequantized in registers. Backends without it get dense weights.
public protocol Int4LinearBackend: Backend {
    /// The weight (4 or 8 bits) re-laid for the backend's kernels; nil where they do not take it (the caller then
    /// uploads `weights.dequantized()`).
    func makeInt4Weight(_ weights: IntQuantizedWeights) throws -> Int4Weight?
    /// Random codes, scales and zeros of the given shape (`--load-format dummy` of a 4- or 8-bit checkpoint): codes
    /// uniform, zero the middle code, scales so that a weight's magnitude is about dummy floats' (±1e-3).
    func makeDummyInt4Weight(n: Int, k: Int, groupSize: Int, bits: Int, key: UInt64) throws -> Int4Weight?
    /// `out = x · Wᵀ (+ bias)` as `linear` does, W = the dequantized weight.
    func linear(_ x: Tensor, weight: Int4Weight, bias: Tensor?, out: Tensor) throws
}

extension Backend {
    /// `linear` for a weight of either kind.
    public func linear(_ x: Tensor, weight: LinearWeight, bias: Tensor?, out: Tensor) throws {
        switch weight {
        case .dense(let tensor):
            try linear(x, weight: tensor, bias: bias, out: out)
        case .int4(let packed):
            guard let backend = self as? any Int4LinearBackend else {
                preconditionFailure("an int4 weight on \(name), which has no int4 kernels")
            }
            try backend.linear(x, weight: packed, bias: bias, out: out)
        case .fp8(let weight):
            guard let backend = self as? any FP8LinearBackend else {
                preconditionFailure("an fp8 weight on \(name), which has no fp8 kernels")
            }
            try backend.linear(x, weight: weight, bias: bias, out: out)
        }
    }
}

extension DType {
    /// `value` rounded to this dtype (nearest even), as a product computed in it is; f32 and ints unchanged.
    @inlinable
    public func rounded(_ value: Float) -> Float {
        switch self {
        case .bfloat16: HalfPrecision.float(fromBFloat16: HalfPrecision.bfloat16(from: value))
        case .float16: HalfPrecision.float(fromFloat16: HalfPrecision.float16(from: value))
        default: value
        }
    }
}
