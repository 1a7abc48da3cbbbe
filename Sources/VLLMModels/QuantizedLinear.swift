import FoundationEssentials
import VLLMCompute

/// Reads one linear layer's weight as the checkpoint stores it — packed ints with group scales and
/// zero points, int8 or fp8 with scales — and returns it dequantized to `[N, K]` floats (PyTorch's
/// Linear layout), exactly as the reference tools dequantize: each element `(q − zero) · scale`,
/// computed exactly and rounded once to the scale's dtype (AutoGPTQ, AutoAWQ and compressed-tensors
/// all multiply in that dtype). The CPU backend runs on these weights; they are the oracle every
/// quantized kernel is checked against.
struct QuantizedLinearReader {
    let checkpoint: Checkpoint
    let config: QuantizationConfig

    static let floatDTypes: [DType] = [.float32, .float16, .bfloat16]

    /// A linear layer as the checkpoint stores it.
    enum Stored {
        /// Integer codes with group scales and zero points (GPTQ, AWQ, compressed-tensors pack-quantized).
        case ints(IntQuantizedWeights)
        /// FP8 e4m3 codes with a scale per tensor (repeated per row), channel or block.
        case fp8(Float8QuantizedWeights)
    }

    /// The dequantized weight of `prefix` (e.g. `model.layers.0.self_attn.q_proj`) of `n` outputs and `k`
    /// inputs; nil when the checkpoint keeps this layer in floats (`prefix.weight` of a float dtype:
    /// an `ignore`d module, an lm_head left unquantized).
    func dequantize(_ prefix: String, n: Int, k: Int) throws -> [Float]? {
        switch try read(prefix, n: n, k: k) {
        case .ints(let weights): weights.dequantized()
        case .fp8(let weights): weights.dequantized()
        case nil: nil
        }
    }

    /// The layer as stored, unpacked; nil when the checkpoint keeps it in floats.
    func read(_ prefix: String, n: Int, k: Int) throws -> Stored? {
        switch config.weights {
        case .gptq(let bits, let groupSize, let descAct, _, let zeroOffset):
            guard checkpoint.contains(prefix + ".qweight") else { return try expectFloat(prefix) }
            return .ints(try gptq(prefix, n: n, k: k, bits: bits, groupSize: groupSize, descAct: descAct, zeroOffset: zeroOffset))
        case .awq(let bits, let groupSize):
            guard checkpoint.contains(prefix + ".qweight") else { return try expectFloat(prefix) }
            return .ints(try awq(prefix, n: n, k: k, bits: bits, groupSize: groupSize))
        case .packed(let bits, let groupSize, let symmetric):
            guard checkpoint.contains(prefix + ".weight_packed") else { return try expectFloat(prefix) }
            return .ints(try packed(prefix, n: n, k: k, bits: bits, groupSize: groupSize, symmetric: symmetric))
        case .int8(let symmetric):
            guard checkpoint.dtype(of: prefix + ".weight") == .int8 else { return try expectFloat(prefix) }
            return .ints(try int8(prefix, n: n, k: k, symmetric: symmetric))
        case .fp8(let block):
            guard let dtype = checkpoint.dtype(of: prefix + ".weight"), dtype.float8Format != nil else { return try expectFloat(prefix) }
            return .fp8(try fp8(prefix, n: n, k: k, block: block))
        case .fp8Online:
            return nil
        }
    }

    /// A layer the checkpoint did not quantize must hold a float `weight`; anything else is a checkpoint
    /// that does not match its quantization_config.
    private func expectFloat(_ prefix: String) throws -> Stored? {
        if let dtype = checkpoint.dtype(of: prefix + ".weight"), Self.floatDTypes.contains(dtype) { return nil }
        let expected: String
        switch config.weights {
        case .gptq, .awq: expected = "qweight, qzeros and scales"
        case .packed: expected = "weight_packed and weight_scale"
        case .int8: expected = "an I8 weight and weight_scale"
        case .fp8, .fp8Online: expected = "an F8_E4M3 weight and its scale"
        }
        throw ModelError("\(checkpoint.directory.path): '\(prefix)' has neither \(expected) (quant_method \(config.method)) nor a float weight")
    }

    // MARK: GPTQ

    private func gptq(_ prefix: String, n: Int, k: Int, bits: Int, groupSize: Int?, descAct: Bool, zeroOffset: Int) throws -> IntQuantizedWeights {
        let pack = 32 / bits, mask = Int32((1 << bits) - 1)
        let group = try self.groupSize(groupSize, k: k, prefix)
        let numGroups = (k + group - 1) / group
        try divisible(k, by: pack, "in_features", prefix)
        try divisible(n, by: pack, "out_features", prefix)
        let qweight = try int32s(prefix + ".qweight", [k / pack, n])
        let qzeros = try int32s(prefix + ".qzeros", [numGroups, n / pack])
        let (scales, scaleDType) = try floats(prefix + ".scales", [numGroups, n])
        var weights = IntQuantizedWeights(n: n, k: k, bits: bits, groupSize: group, scaleDType: scaleDType)
        if descAct { weights.groupIndex = try groupIndex(prefix + ".g_idx", k: k, numGroups: numGroups) }
        // qweight is [K/pack, N]: read in tiles of 64 output rows, so both it and the codes stream through cache.
        weights.codes.withUnsafeMutableBufferPointer { codes in
            ParallelFor.chunks((n + 63) / 64) { tiles in for tile in tiles {
                let row0 = tile * 64
                for packedRow in 0..<(k / pack) {
                    for row in row0..<min(n, row0 + 64) {
                        var word = UInt32(bitPattern: qweight[packedRow * n + row])
                        let base = row * k + packedRow * pack
                        for j in 0..<pack {
                            codes[base + j] = UInt8(truncatingIfNeeded: word & UInt32(mask))
                            word >>= UInt32(bits)
                        }
                    }
                }
            } }
        }
        for row in 0..<n {
            for g in 0..<numGroups {
                // AutoGPTQ's format stores zero − 1 (its QuantLinear and vLLM add the one back after masking).
                weights.zeros[row * numGroups + g] = ((qzeros[g * (n / pack) + row / pack] >> Int32(bits * (row % pack))) & mask) + Int32(zeroOffset)
                weights.scales[row * numGroups + g] = scales[g * n + row]
            }
        }
        return weights
    }

    // MARK: AWQ

    /// AutoAWQ packs eight 4-bit columns into an int32 in the order 0 2 4 6 1 3 5 7: nibble `i` holds column
    /// `order[i]` of its eight. `inverse[j]` is the nibble of column `j`.
    private static let awqNibbleOfColumn = [0, 4, 1, 5, 2, 6, 3, 7]

    private func awq(_ prefix: String, n: Int, k: Int, bits: Int, groupSize: Int) throws -> IntQuantizedWeights {
        let pack = 32 / bits, mask = Int32((1 << bits) - 1)
        try divisible(k, by: groupSize, "in_features", prefix)
        try divisible(n, by: pack, "out_features", prefix)
        let numGroups = k / groupSize, words = n / pack
        let qweight = try int32s(prefix + ".qweight", [k, words])
        let qzeros = try int32s(prefix + ".qzeros", [numGroups, words])
        let (scales, scaleDType) = try floats(prefix + ".scales", [numGroups, n])
        var weights = IntQuantizedWeights(n: n, k: k, bits: bits, groupSize: groupSize, scaleDType: scaleDType)
        // qweight is [K, N/8]: read in tiles of 64 input columns, each word giving 8 rows' codes.
        weights.codes.withUnsafeMutableBufferPointer { codes in
            ParallelFor.chunks((k + 63) / 64) { tiles in for tile in tiles {
                let col0 = tile * 64
                for word in 0..<words {
                    for col in col0..<min(k, col0 + 64) {
                        let value = UInt32(bitPattern: qweight[col * words + word])
                        for j in 0..<pack {
                            let shift = UInt32(bits * Self.awqNibbleOfColumn[j])
                            codes[(word * pack + j) * k + col] = UInt8(truncatingIfNeeded: (value >> shift) & UInt32(mask))
                        }
                    }
                }
            } }
        }
        for row in 0..<n {
            let word = row / pack, shift = Int32(bits * Self.awqNibbleOfColumn[row % pack])
            for g in 0..<numGroups {
                weights.zeros[row * numGroups + g] = (qzeros[g * words + word] >> shift) & mask
                weights.scales[row * numGroups + g] = scales[g * n + row]
            }
        }
        return weights
    }

    // MARK: compressed-tensors

    /// `pack-quantized`: values offset by 2^(bits−1) to unsigned and packed densely, 32/bits to an int32,
    /// along K for the weight and along N for the zero points.
    private func packed(_ prefix: String, n: Int, k: Int, bits: Int, groupSize: Int?, symmetric: Bool) throws -> IntQuantizedWeights {
        let pack = 32 / bits, mask = Int32((1 << bits) - 1), offset = Int32(1 << (bits - 1))
        let group = try self.groupSize(groupSize, k: k, prefix)
        let numGroups = (k + group - 1) / group
        let words = (k + pack - 1) / pack
        let packedWeights = try int32s(prefix + ".weight_packed", [n, words])
        let (scales, scaleDType) = try floats(prefix + ".weight_scale", [n, numGroups])
        var zeros: [Int32]?
        if !symmetric {
            zeros = try int32s(prefix + ".weight_zero_point", [(n + pack - 1) / pack, numGroups])
        }
        var weights = IntQuantizedWeights(n: n, k: k, bits: bits, groupSize: group, scaleDType: scaleDType)
        if checkpoint.contains(prefix + ".weight_g_idx") {
            weights.groupIndex = try groupIndex(prefix + ".weight_g_idx", k: k, numGroups: numGroups)
        }
        weights.scales = scales
        // Codes stay offset (unsigned); a symmetric scheme's zero is the offset itself.
        weights.codes.withUnsafeMutableBufferPointer { codes in
            ParallelFor.chunks(n, grain: 16) { rows in
                for row in rows {
                    for col in 0..<k {
                        codes[row * k + col] = UInt8(truncatingIfNeeded: (packedWeights[row * words + col / pack] >> Int32(bits * (col % pack))) & mask)
                    }
                }
            }
        }
        for row in 0..<n {
            for g in 0..<numGroups {
                weights.zeros[row * numGroups + g] = zeros.map { ($0[(row / pack) * numGroups + g] >> Int32(bits * (row % pack))) & mask } ?? offset
            }
        }
        return weights
    }

    /// `int-quantized`: int8 weights, one scale per output channel (or per tensor), as 8-bit codes offset to unsigned
    /// (q + 128, the zero point z + 128: (q − z)·s unchanged) in one group a row.
    private func int8(_ prefix: String, n: Int, k: Int, symmetric: Bool) throws -> IntQuantizedWeights {
        let (_, bytes) = try checkpoint.tensor(prefix + ".weight", shape: [n, k], dtypes: [.int8])
        let (scales, scaleDType, perChannel) = try channelScales(prefix + ".weight_scale", n: n)
        var zeros: [Int32]?
        if !symmetric {
            let (zEntry, zBytes) = try checkpoint.tensor(prefix + ".weight_zero_point", shape: nil, dtypes: [.int8])
            guard zEntry.shape.reduce(1, *) == scales.count else {
                throw ModelError("\(checkpoint.directory.path): '\(prefix).weight_zero_point' has shape \(zEntry.shape), expected one value per scale")
            }
            zeros = (0..<scales.count).map { Int32(zBytes.baseAddress!.load(fromByteOffset: $0, as: Int8.self)) }
        }
        var weights = IntQuantizedWeights(n: n, k: k, bits: 8, groupSize: k, scaleDType: scaleDType)
        let signed = bytes.bindMemory(to: Int8.self)
        weights.codes.withUnsafeMutableBufferPointer { codes in
            ParallelFor.chunks(n, grain: 16) { rows in
                for i in rows.lowerBound * k ..< rows.upperBound * k { codes[i] = UInt8(Int(signed[i]) + 128) }
            }
        }
        for row in 0..<n {
            weights.scales[row] = scales[perChannel ? row : 0]
            weights.zeros[row] = 128 + (zeros?[perChannel ? row : 0] ?? 0)
        }
        return weights
    }

    /// FP8 e4m3 weights with a scale per tensor, per output channel, or per block (`weight_scale_inv` in
    /// `fp8` checkpoints — which multiplies despite its name, as in vLLM —, `weight_scale` in compressed-tensors).
    private func fp8(_ prefix: String, n: Int, k: Int, block: [Int]?) throws -> Float8QuantizedWeights {
        let (_, bytes) = try checkpoint.tensor(prefix + ".weight", shape: [n, k], dtypes: [.float8E4M3])
        let codes = Array(bytes.bindMemory(to: UInt8.self).prefix(n * k))
        if let block {
            let (bn, bk) = (block[0], block[1])
            let rows = (n + bn - 1) / bn, cols = (k + bk - 1) / bk
            let name = checkpoint.contains(prefix + ".weight_scale_inv") ? prefix + ".weight_scale_inv" : prefix + ".weight_scale"
            let (scales, dtype) = try floats(name, [rows, cols])
            return Float8QuantizedWeights(n: n, k: k, codes: codes, scales: scales, scaleDType: dtype, blockSize: (bn, bk))
        }
        let (scales, dtype, perChannel) = try channelScales(prefix + ".weight_scale", n: n)
        return Float8QuantizedWeights(n: n, k: k, codes: codes, scales: perChannel ? scales : [Float](repeating: scales[0], count: n),
                                      scaleDType: dtype)
    }

    // MARK: Reading

    /// A per-tensor (one value, any shape) or per-channel ([N] or [N, 1]) scale.
    private func channelScales(_ name: String, n: Int) throws -> (values: [Float], dtype: DType, perChannel: Bool) {
        let (entry, bytes) = try checkpoint.tensor(name, shape: nil, dtypes: Self.floatDTypes)
        let count = entry.shape.reduce(1, *)
        guard count == 1 || count == n else {
            throw ModelError("\(checkpoint.directory.path): '\(name)' has shape \(entry.shape), expected one scale or one per output channel (\(n))")
        }
        return ((0..<count).map { entry.dtype.loadFloat(from: bytes.baseAddress!, at: $0) }, entry.dtype, count == n && n > 1)
    }

    private func int32s(_ name: String, _ shape: [Int]) throws -> [Int32] {
        let (_, bytes) = try checkpoint.tensor(name, shape: shape, dtypes: [.int32])
        return Array(bytes.bindMemory(to: Int32.self))
    }

    private func floats(_ name: String, _ shape: [Int]) throws -> ([Float], DType) {
        let (entry, bytes) = try checkpoint.tensor(name, shape: shape, dtypes: Self.floatDTypes)
        return ((0..<shape.reduce(1, *)).map { entry.dtype.loadFloat(from: bytes.baseAddress!, at: $0) }, entry.dtype)
    }

    /// Act-order's `g_idx`: the group of each input column, every value a valid group.
    private func groupIndex(_ name: String, k: Int, numGroups: Int) throws -> [Int] {
        let values = try int32s(name, [k])
        if let bad = values.firstIndex(where: { $0 < 0 || Int($0) >= numGroups }) {
            throw ModelError("\(checkpoint.directory.path): '\(name)'[\(bad)] is \(values[bad]), outside the \(numGroups) groups")
        }
        return values.map(Int.init)
    }

    private func groupSize(_ size: Int?, k: Int, _ prefix: String) throws -> Int {
        guard let size else { return k }
        try divisible(k, by: size, "in_features", prefix)
        return size
    }

    private func divisible(_ value: Int, by divisor: Int, _ what: String, _ prefix: String) throws {
        guard value % divisor == 0 else {
            throw ModelError("\(checkpoint.directory.path): '\(prefix)' has \(what) \(value), not a multiple of \(divisor) as quant_method \(config.method) needs")
        }
    }
}

