import VLLMCompute

/// `out = x · Wᵀ + b`, where the time of a CPU forward goes.
///
/// Work is split over output features; each weight row is streamed once per tile of up to four
/// tokens, with SIMD16 accumulators. Decode (one token) is a memory-bound GEMV over the weights.
extension CPUBackend {
    public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?, out: Tensor) throws {
        let inFeatures = weight.shape[1], outFeatures = weight.shape[0], numTokens = x.count / inFeatures
        try expect(x.count == numTokens * inFeatures && out.count == numTokens * outFeatures,
                   "linear: x \(x.shape), weight \(weight.shape), out \(out.shape)")
        try expect(bias.map { $0.count == outFeatures } ?? true, "linear: bias \(bias!.shape) for \(outFeatures) outputs")
        let xs = UnsafePointer(x.floatPointer), w = UnsafePointer(weight.floatPointer)
        let b = bias.map { UnsafePointer($0.floatPointer) }
        let result: UnsafeMutablePointer<Float>
        let scratch: Tensor?
        if out.dtype == .float32 {
            result = out.floatPointer
            scratch = nil
        } else {
            scratch = try allocate(shape: out.shape, dtype: .float32)
            result = scratch!.floatPointer
        }
        parallelFor(outFeatures, grain: 16) { range in
            var t = 0
            while t < numTokens {
                let tile = min(4, numTokens - t)
                for n in range {
                    let row = w + n * inFeatures
                    var sums = (Float(0), Float(0), Float(0), Float(0))
                    Self.dot4(row, xs + t * inFeatures, tile, inFeatures, &sums)
                    let add = b?[n] ?? 0
                    result[t * outFeatures + n] = sums.0 + add
                    if tile > 1 { result[(t + 1) * outFeatures + n] = sums.1 + add }
                    if tile > 2 { result[(t + 2) * outFeatures + n] = sums.2 + add }
                    if tile > 3 { result[(t + 3) * outFeatures + n] = sums.3 + add }
                }
                t += tile
            }
        }
        if let scratch {
            for i in 0..<out.count { out.store(scratch.floatPointer[i], at: i) }
        }
    }

    /// Dot products of one weight row with `tile` (1…4) consecutive rows of `x`, by fused multiply-adds.
    @inline(__always)
    static func dot4(_ row: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ tile: Int, _ k: Int,
                     _ sums: inout (Float, Float, Float, Float)) {
        let raw = UnsafeRawPointer(row), xRaw = UnsafeRawPointer(x)
        var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
        let vectorEnd = k & ~15
        var i = 0
        switch tile {
        case 1:
            // Decode: two independent chains so the FMA latency hides behind the weight stream.
            let pairEnd = k & ~31
            while i < pairEnd {
                a0 = a0.addingProduct(raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self),
                                      xRaw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self))
                a1 = a1.addingProduct(raw.loadUnaligned(fromByteOffset: i * 4 + 64, as: SIMD16<Float>.self),
                                      xRaw.loadUnaligned(fromByteOffset: i * 4 + 64, as: SIMD16<Float>.self))
                i += 32
            }
            while i < vectorEnd {
                a0 = a0.addingProduct(raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self),
                                      xRaw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self))
                i += 16
            }
            a0 += a1
            a1 = SIMD16<Float>()
        default:
            let stride = k * 4
            while i < vectorEnd {
                let wv = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
                a0 = a0.addingProduct(wv, xRaw.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self))
                a1 = a1.addingProduct(wv, xRaw.loadUnaligned(fromByteOffset: stride + i * 4, as: SIMD16<Float>.self))
                if tile > 2 { a2 = a2.addingProduct(wv, xRaw.loadUnaligned(fromByteOffset: 2 * stride + i * 4, as: SIMD16<Float>.self)) }
                if tile > 3 { a3 = a3.addingProduct(wv, xRaw.loadUnaligned(fromByteOffset: 3 * stride + i * 4, as: SIMD16<Float>.self)) }
                i += 16
            }
        }
        var s0 = a0.sum(), s1 = a1.sum(), s2 = a2.sum(), s3 = a3.sum()
        while i < k {
            let wv = row[i]
            s0 += wv * x[i]
            if tile > 1 { s1 += wv * x[k + i] }
            if tile > 2 { s2 += wv * x[2 * k + i] }
            if tile > 3 { s3 += wv * x[3 * k + i] }
            i += 1
        }
        sums = (s0, s1, s2, s3)
    }
}
