import FoundationEssentials
import VLLMCompute

/// 4-bit integer weights (W4A16: GPTQ, AWQ, compressed-tensors) by Kernels/linear_int4.cu: the weight stays
/// packed (a quarter of bf16's bytes) and is dequantized in registers for steps of up to 32 tokens; larger
/// steps dequantize it into a scratch matrix that cuBLASLt multiplies (a mixed-input tensor-core GEMM, as
/// vLLM's Marlin, is still to come).
extension CUDABackend: Int4LinearBackend {
    /// Most tokens linear_int4.cu's kernel takes (4 groups of 8 mma columns).
    static let int4SmallMaxTokens = 32
    /// Nibble p of a packed word holds k-offset interleave[p] (linear_int4.cu's layout).
    static let int4Interleave = [0, 2, 4, 6, 1, 3, 5, 7]

    /// `Int4Weight.tensors` of this backend: packed [N, K/8] int32, scales [N, G] bf16, zeros [N, G] bf16
    /// (−(128 + zero)), and for act-order the permutation [K] int32 (stored column → input column).
    public func makeInt4Weight(_ weights: IntQuantizedWeights) throws -> Int4Weight? {
        let (n, k, groupSize) = (weights.n, weights.k, weights.groupSize)
        guard weights.bits == 4, activationDType == .bfloat16, context.computeCapability.major >= 8,
              groupSize % 32 == 0, k % groupSize == 0, weights.numGroups == k / groupSize, n > 0 else { return nil }
        // Act-order: columns sorted by group (stable), which must leave groupSize columns to each group.
        var order: [Int]?
        if let groupIndex = weights.groupIndex {
            let sorted = (0..<k).sorted { (groupIndex[$0], $0) < (groupIndex[$1], $1) }
            guard sorted.enumerated().allSatisfy({ groupIndex[$0.element] == $0.offset / groupSize }) else { return nil }
            order = sorted
        }
        let words = k / 8
        var packed = [UInt32](repeating: 0, count: n * words)
        weights.codes.withUnsafeBufferPointer { codes in
            packed.withUnsafeMutableBufferPointer { packed in
                let interleave = Self.int4Interleave
                ParallelFor.chunks(n, grain: 16) { rows in
                    for row in rows {
                        let source = codes.baseAddress! + row * k
                        for word in 0..<words {
                            var value: UInt32 = 0
                            for p in 0..<8 {
                                let stored = 8 * word + interleave[p]
                                value |= UInt32(source[order?[stored] ?? stored] & 0xF) << (4 * p)
                            }
                            packed[row * words + word] = value
                        }
                    }
                }
            }
        }
        let numGroups = k / groupSize
        var tensors = [
            try packed.withUnsafeBytes { try upload($0, sourceDType: .int32, shape: [n, words], dtype: .int32) },
            try makeTensor(weights.scales, shape: [n, numGroups], dtype: .bfloat16),
            try makeTensor(weights.zeros.map { -(128 + Float($0)) }, shape: [n, numGroups], dtype: .bfloat16),
        ]
        if let order { tensors.append(try makeInt32(order.map { Int32($0) })) }
        return Int4Weight(outFeatures: n, inFeatures: k, groupSize: groupSize, tensors: tensors)
    }

    public func makeDummyInt4Weight(n: Int, k: Int, groupSize: Int, key: UInt64) throws -> Int4Weight? {
        guard activationDType == .bfloat16, context.computeCapability.major >= 8, groupSize % 32 == 0,
              k % groupSize == 0, n > 0 else { return nil }
        let numGroups = k / groupSize
        let packed = try allocate(shape: [n, k / 8], dtype: .int32)
        let scales = try allocate(shape: [n, numGroups], dtype: .bfloat16)
        let zeros = try allocate(shape: [n, numGroups], dtype: .bfloat16)
        let blocks = min((packed.count + 255) / 256, 32 * context.multiprocessorCount)
        try launch("fill_int4_dummy", in: "dummy", grid: (blocks, 1, 1), block: (256, 1, 1),
                   [packed.device, scales.device, zeros.device, .int64(Int64(packed.count)), .int64(Int64(scales.count)),
                    .int64(Int64(bitPattern: key))])
        return Int4Weight(outFeatures: n, inFeatures: k, groupSize: groupSize, tensors: [packed, scales, zeros])
    }

    public func linear(_ x: Tensor, weight: Int4Weight, bias: Tensor?, out: Tensor) throws {
        let (columns, depth) = (weight.outFeatures, weight.inFeatures)
        let (packed, scales, zeros) = (weight.tensors[0], weight.tensors[1], weight.tensors[2])
        let permutation = weight.tensors.count > 3 ? weight.tensors[3] : nil
        try require(x.dtype == .bfloat16 && (out.dtype == .bfloat16 || out.dtype == .float32) && x.count % depth == 0
                    && out.count == x.count / depth * columns, "linear (int4)",
                    "x \(x) · [\(columns), \(depth)] int4 into out \(out)")
        if let bias { try require(bias.count == columns && bias.dtype == .bfloat16, "linear (int4)", "bias \(bias) for \(columns) outputs") }
        let tokens = x.count / depth
        guard tokens > 0 else { return }
        let elementwiseBlocks = { (count: Int) in min((count + 255) / 256, 32 * self.context.multiprocessorCount) }
        if tokens <= Self.int4SmallMaxTokens, x.address % 16 == 0 {
            var input = x
            if let permutation {
                input = try scratch(.int4Gathered, shape: [tokens, depth], dtype: .bfloat16)
                try launch("gather_columns_bf16", in: "linear_int4", grid: (elementwiseBlocks(x.count), 1, 1), block: (256, 1, 1),
                           [x.device, permutation.device, input.device, .int32(Int32(tokens)), .int32(Int32(depth))])
            }
            let groups = tokens <= 8 ? 1 : tokens <= 16 ? 2 : 4
            let numWarps = min(8, (depth + 511) / 512)  // a warp's iteration covers 128 · INT4_STEPS of K
            // Groups of 128 (or multiples, or one per row): scales applied once per 128-k step of a warp.
            let grouped = weight.groupSize % 128 == 0 ? "_g128" : ""
            let kernel = "linear_int4_small\(grouped)_bf16\(out.dtype == .float32 ? "_f32" : "")_t\(groups)"
            try launch(kernel, in: "linear_int4", grid: ((columns + 15) / 16, 1, 1), block: (32 * numWarps, 1, 1),
                       [input.device, packed.device, scales.device, zeros.device, bias?.device ?? .pointer(0), out.device,
                        .int32(Int32(tokens)), .int32(Int32(columns)), .int32(Int32(depth)), .int32(Int32(weight.groupSize))])
            return
        }
        let dense = try scratch(.int4Dequantized, shape: [columns, depth], dtype: .bfloat16)
        try launch("dequantize_int4_bf16", in: "linear_int4", grid: (elementwiseBlocks(packed.count), 1, 1), block: (256, 1, 1),
                   [packed.device, scales.device, zeros.device, permutation?.device ?? .pointer(0), dense.device,
                    .int32(Int32(columns)), .int32(Int32(depth)), .int32(Int32(weight.groupSize))])
        try linear(x, weight: dense, bias: bias, out: out)
    }
}
