import VLLMCompute

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The element-wise and row-wise ops. Each is written the obvious way: it is the oracle.
extension CPUBackend {
    public func embedding(tokenIds: Tensor, table: Tensor, firstTokenId: Int, out: Tensor) throws {
        let numTokens = tokenIds.count, hidden = table.shape[1], vocab = table.shape[0]
        try expect(out.shape == [numTokens, hidden], "embedding: out \(out.shape), expected [\(numTokens), \(hidden)]")
        let ids = tokenIds.int32Pointer
        let src = table.floatPointer, dst = out.floatPointer
        parallelFor(numTokens) { range in
            for t in range {
                let row = Int(ids[t]) - firstTokenId
                if row >= 0 && row < vocab {
                    (dst + t * hidden).update(from: src + row * hidden, count: hidden)
                } else {
                    (dst + t * hidden).update(repeating: 0, count: hidden)
                }
            }
        }
    }

    public func rmsNorm(_ x: Tensor, weight: Tensor, epsilon: Float, out: Tensor) throws {
        let dim = weight.count, rows = x.count / dim
        try expect(x.count == rows * dim && out.count == x.count, "rmsNorm: x \(x.shape), weight \(weight.shape), out \(out.shape)")
        let src = x.floatPointer, w = weight.floatPointer, dst = out.floatPointer
        parallelFor(rows, grain: 4) { range in
            for r in range { Self.rmsNormRow(src + r * dim, w, epsilon, dim, dst + r * dim) }
        }
    }

    public func addRMSNorm(_ x: Tensor, residual: Tensor, weight: Tensor, epsilon: Float, out: Tensor) throws {
        let dim = weight.count, rows = x.count / dim
        try expect(x.count == rows * dim && residual.count == x.count && out.count == x.count,
                   "addRMSNorm: x \(x.shape), residual \(residual.shape), weight \(weight.shape), out \(out.shape)")
        let src = x.floatPointer, res = residual.floatPointer, w = weight.floatPointer, dst = out.floatPointer
        parallelFor(rows, grain: 4) { range in
            for r in range {
                let row = res + r * dim, add = src + r * dim
                for i in 0..<dim { row[i] += add[i] }
                Self.rmsNormRow(row, w, epsilon, dim, dst + r * dim)
            }
        }
    }

    /// transformers' LlamaRMSNorm: normalize in f32, then multiply by the weight.
    @inline(__always)
    static func rmsNormRow(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ eps: Float, _ dim: Int,
                           _ out: UnsafeMutablePointer<Float>) {
        var sumSquares: Float = 0
        for i in 0..<dim { sumSquares += x[i] * x[i] }
        let inverse = 1 / (sumSquares / Float(dim) + eps).squareRoot()
        for i in 0..<dim { out[i] = w[i] * (x[i] * inverse) }
    }

    public func rotaryEmbedding(query: Tensor, key: Tensor, positions: Tensor, cosSinCache: Tensor, headSize: Int) throws {
        let numTokens = positions.count, rotaryDim = cosSinCache.shape[1], half = rotaryDim / 2
        try expect(rotaryDim <= headSize && rotaryDim % 2 == 0, "rotary: rotaryDim \(rotaryDim), headSize \(headSize)")
        let maxPositions = cosSinCache.shape[0]
        let pos = positions.int32Pointer, cache = cosSinCache.floatPointer
        for t in 0..<numTokens where pos[t] < 0 || Int(pos[t]) >= maxPositions {
            throw BackendError("rotary: position \(pos[t]) outside the cos/sin cache of \(maxPositions) positions")
        }
        for tensor in [query, key] {
            let numHeads = tensor.count / (numTokens * headSize)
            try expect(tensor.count == numTokens * numHeads * headSize, "rotary: \(tensor.shape) with headSize \(headSize)")
            let data = tensor.floatPointer
            parallelFor(numTokens, grain: 4) { range in
                for t in range {
                    let cos = cache + Int(pos[t]) * rotaryDim, sin = cos + half
                    for h in 0..<numHeads {
                        let head = data + (t * numHeads + h) * headSize
                        for i in 0..<half {
                            let x1 = head[i], x2 = head[i + half]
                            head[i] = x1 * cos[i] - x2 * sin[i]
                            head[i + half] = x2 * cos[i] + x1 * sin[i]
                        }
                    }
                }
            }
        }
    }

    public func splitQKV(_ qkv: Tensor, query: Tensor, kv: KVDestination, headSize: Int,
                         rotary: (positions: Tensor, cosSinCache: Tensor)?) throws {
        let numTokens = query.shape[0], qWidth = query.shape[1], kvWidth = (qkv.count / max(1, numTokens) - qWidth) / 2
        try expect(query.rank == 2 && qkv.count == numTokens * (qWidth + 2 * kvWidth) && kvWidth > 0,
                   "splitQKV: qkv \(qkv.shape) into query \(query.shape)")
        let (key, value): (Tensor, Tensor)
        switch kv {
        case .tensors(let k, let v): (key, value) = (k, v)
        case .cache: (key, value) = (try allocate(shape: [numTokens, kvWidth], dtype: .float32),
                                     try allocate(shape: [numTokens, kvWidth], dtype: .float32))
        }
        try expect(key.count == numTokens * kvWidth && value.count == key.count,
                   "splitQKV: key \(key.shape), value \(value.shape) for \(numTokens) tokens of \(kvWidth)")
        let width = qWidth + 2 * kvWidth
        let source = qkv.floatPointer, qOut = query.floatPointer, kOut = key.floatPointer, vOut = value.floatPointer
        for t in 0..<numTokens {
            let row = source + t * width
            (qOut + t * qWidth).update(from: row, count: qWidth)
            (kOut + t * kvWidth).update(from: row + qWidth, count: kvWidth)
            (vOut + t * kvWidth).update(from: row + qWidth + kvWidth, count: kvWidth)
        }
        if let rotary {
            try rotaryEmbedding(query: query, key: key, positions: rotary.positions, cosSinCache: rotary.cosSinCache,
                                headSize: headSize)
        }
        if case .cache(let cache, let slotMapping) = kv {
            try writeKVCache(key: key, value: value, cache: cache, slotMapping: slotMapping)
        }
    }

    public func writeKVCache(key: Tensor, value: Tensor, cache: PagedKVCache, slotMapping: Tensor) throws {
        let width = cache.numKVHeads * cache.headSize, numTokens = slotMapping.count
        let numSlots = cache.numBlocks * cache.blockSize
        try expect(key.count == numTokens * width && value.count == key.count,
                   "writeKVCache: key \(key.shape), value \(value.shape), \(numTokens) slots of width \(width)")
        let slots = slotMapping.int32Pointer
        let k = key.floatPointer, v = value.floatPointer
        for t in 0..<numTokens where slots[t] >= 0 {
            let slot = Int(slots[t])
            try expect(slot < numSlots, "writeKVCache: slot \(slot) outside the cache's \(numSlots) slots")
            if let format = cache.key.dtype.float8Format {
                // fp8(x / scale), as vLLM's cache kernels store an fp8 cache.
                let kc = cache.key.rawPointer.assumingMemoryBound(to: UInt8.self) + slot * width
                let vc = cache.value.rawPointer.assumingMemoryBound(to: UInt8.self) + slot * width
                for i in 0..<width {
                    kc[i] = format.encode(k[t * width + i] / cache.keyScale)
                    vc[i] = format.encode(v[t * width + i] / cache.valueScale)
                }
            } else {
                (cache.key.floatPointer + slot * width).update(from: k + t * width, count: width)
                (cache.value.floatPointer + slot * width).update(from: v + t * width, count: width)
            }
        }
    }

    public func siluAndMul(_ x: Tensor, out: Tensor) throws {
        let width = out.shape.last!, rows = out.count / width
        try expect(x.count == rows * 2 * width, "siluAndMul: x \(x.shape), out \(out.shape)")
        let src = x.floatPointer, dst = out.floatPointer
        parallelFor(rows) { range in
            for r in range {
                let gate = src + r * 2 * width, up = gate + width, o = dst + r * width
                for i in 0..<width { o[i] = gate[i] / (1 + expf(-gate[i])) * up[i] }
            }
        }
    }

    public func gatherRows(_ x: Tensor, indices: Tensor, out: Tensor) throws {
        let width = x.shape.last!, rows = x.count / width, numRows = indices.count
        try expect(out.count == numRows * width, "gatherRows: x \(x.shape), \(numRows) indices, out \(out.shape)")
        let idx = indices.int32Pointer, src = x.floatPointer, dst = out.floatPointer
        for s in 0..<numRows {
            try expect(idx[s] >= 0 && Int(idx[s]) < rows, "gatherRows: index \(idx[s]) outside \(rows) rows")
            (dst + s * width).update(from: src + Int(idx[s]) * width, count: width)
        }
    }

    public func concatenateColumns(_ parts: Tensor, out: Tensor) throws {
        try expect(parts.rank == 3 && out.rank == 2 && parts.dtype == .float32 && out.dtype == .float32
                   && parts.shape[1] == out.shape[0] && out.shape[1] <= parts.shape[0] * parts.shape[2],
                   "concatenateColumns: parts \(parts.shape), out \(out.shape)")
        let (rows, width, columns) = (out.shape[0], parts.shape[2], out.shape[1])
        let src = parts.floatPointer, dst = out.floatPointer
        for s in 0..<rows {
            for c in 0..<columns { dst[s * columns + c] = src[((c / width) * rows + s) * width + c % width] }
        }
    }

    public func applyTokenBitmask(logits: Tensor, rows: [Int32], masks: [UInt32]) throws {
        guard !rows.isEmpty else { return }
        try expect(logits.dtype == .float32 && logits.rank == 2 && masks.count % rows.count == 0,
                   "applyTokenBitmask: logits \(logits.shape), \(rows.count) rows, \(masks.count) mask words")
        let (numRows, vocab) = (logits.shape[0], logits.shape[1])
        let words = masks.count / rows.count
        let values = logits.floatPointer
        for (m, row) in rows.enumerated() {
            try expect(row >= 0 && Int(row) < numRows, "applyTokenBitmask: row \(row) outside \(numRows)")
            for v in 0..<vocab {
                let word = v >> 5 < words ? masks[m * words + v >> 5] : 0
                if word & (1 << UInt32(v & 31)) == 0 { values[Int(row) * vocab + v] = -.infinity }
            }
        }
    }

    func expect(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw BackendError("cpu: " + message()) }
    }
}
