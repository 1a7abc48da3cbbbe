import VLLMCompute

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The encoder ops (BERT, XLM-RoBERTa): LayerNorm, GELU, add and bidirectional attention, in f32.
extension CPUBackend {
    public func layerNorm(_ x: Tensor, residual: Tensor?, weight: Tensor, bias: Tensor, epsilon: Float, out: Tensor) throws {
        let dim = weight.count, rows = x.count / max(dim, 1)
        try expect(dim > 0 && x.count == rows * dim && out.count == x.count && bias.count == dim
                   && (residual?.count ?? x.count) == x.count,
                   "layerNorm: x \(x.shape), residual \(residual?.shape ?? []), weight \(weight.shape), bias \(bias.shape), out \(out.shape)")
        let src = x.floatPointer, res = residual?.floatPointer, w = weight.floatPointer, b = bias.floatPointer
        let dst = out.floatPointer
        parallelFor(rows, grain: 4) { range in
            var row = [Float](repeating: 0, count: dim)
            for r in range {
                for i in 0..<dim { row[i] = src[r * dim + i] + (res?[r * dim + i] ?? 0) }
                var mean: Float = 0
                for v in row { mean += v }
                mean /= Float(dim)
                var variance: Float = 0
                for v in row { variance += (v - mean) * (v - mean) }
                let inverse = 1 / (variance / Float(dim) + epsilon).squareRoot()
                for i in 0..<dim { dst[r * dim + i] = (row[i] - mean) * inverse * w[i] + b[i] }
            }
        }
    }

    public func gelu(_ x: Tensor, out: Tensor) throws {
        try expect(out.count == x.count, "gelu: x \(x.shape), out \(out.shape)")
        let src = x.floatPointer, dst = out.floatPointer
        parallelFor(x.count, grain: 4096) { range in
            for i in range { dst[i] = src[i] * 0.5 * (1 + erff(src[i] * 0.70710678118654752)) }
        }
    }

    public func add(_ a: Tensor, _ b: Tensor, out: Tensor) throws {
        try expect(a.count == b.count && out.count == a.count, "add: a \(a.shape), b \(b.shape), out \(out.shape)")
        let x = a.floatPointer, y = b.floatPointer, dst = out.floatPointer
        parallelFor(a.count, grain: 4096) { range in
            for i in range { dst[i] = x[i] + y[i] }
        }
    }

    public func encoderAttention(qkv: Tensor, queryStartLoc: Tensor, numSeqs: Int, maxSeqLen: Int, numHeads: Int,
                                 headSize: Int, scale: Float, out: Tensor) throws {
        let width = numHeads * headSize, tokens = out.count / max(width, 1)
        try expect(width > 0 && qkv.count == tokens * 3 * width && out.count == tokens * width
                   && queryStartLoc.count == numSeqs + 1,
                   "encoderAttention: qkv \(qkv.shape), out \(out.shape), \(numHeads) heads of \(headSize), \(numSeqs) sequences")
        let starts = queryStartLoc.int32Pointer
        for s in 0..<numSeqs {
            let (begin, end) = (Int(starts[s]), Int(starts[s + 1]))
            try expect(0 <= begin && begin <= end && end <= tokens && end - begin <= maxSeqLen,
                       "encoderAttention: sequence \(s) spans rows \(begin)..<\(end) of \(tokens), max \(maxSeqLen)")
        }
        let src = qkv.floatPointer, dst = out.floatPointer
        parallelFor(numSeqs * numHeads) { range in
            var scores = [Float](repeating: 0, count: maxSeqLen)
            for item in range {
                let (s, h) = (item / numHeads, item % numHeads)
                let (begin, end) = (Int(starts[s]), Int(starts[s + 1]))
                for t in begin..<end {
                    let q = src + t * 3 * width + h * headSize
                    var maxScore = -Float.infinity
                    for j in begin..<end {
                        let k = src + j * 3 * width + width + h * headSize
                        var dot: Float = 0
                        for d in 0..<headSize { dot += q[d] * k[d] }
                        scores[j - begin] = dot * scale
                        maxScore = max(maxScore, scores[j - begin])
                    }
                    var sum: Float = 0
                    for j in 0..<(end - begin) {
                        scores[j] = expf(scores[j] - maxScore)
                        sum += scores[j]
                    }
                    let o = dst + t * width + h * headSize
                    for d in 0..<headSize { o[d] = 0 }
                    for j in begin..<end {
                        let v = src + j * 3 * width + 2 * width + h * headSize, p = scores[j - begin] / sum
                        for d in 0..<headSize { o[d] += p * v[d] }
                    }
                }
            }
        }
    }
}
