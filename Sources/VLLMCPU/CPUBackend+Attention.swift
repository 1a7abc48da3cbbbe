import VLLMCompute

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Paged attention over one flattened batch of prefill chunks and decode tokens.
///
/// One work item per (query token, head): scores against every key of the token's causal
/// context, read through the block table; softmax in f32; weighted sum of values.
extension CPUBackend {
    public func pagedAttention(query: Tensor, cache: PagedKVCache, metadata m: AttentionMetadata, scale: Float, out: Tensor) throws {
        let headSize = cache.headSize, numKVHeads = cache.numKVHeads, blockSize = cache.blockSize
        let numTokens = m.numTokens, numHeads = query.count / max(numTokens * headSize, 1)
        try expect(query.count == numTokens * numHeads * headSize && out.count == query.count,
                   "pagedAttention: query \(query.shape), out \(out.shape), \(numTokens) tokens of head size \(headSize)")
        try expect(numHeads % numKVHeads == 0, "pagedAttention: \(numHeads) query heads over \(numKVHeads) KV heads")
        let starts = m.queryStartLoc.int32Pointer, seqLens = m.seqLens.int32Pointer
        let maxBlocks = m.blockTables.shape[1]

        // Each token's sequence and position, checked once.
        var tokenSeq = [Int](repeating: 0, count: numTokens)
        var tokenPos = [Int](repeating: 0, count: numTokens)
        for s in 0..<m.numSeqs {
            let start = Int(starts[s]), end = Int(starts[s + 1]), seqLen = Int(seqLens[s])
            try expect(start <= end && end <= numTokens && end - start <= seqLen,
                       "pagedAttention: sequence \(s) has query [\(start), \(end)) and \(seqLen) tokens of context")
            try expect((seqLen + blockSize - 1) / blockSize <= maxBlocks,
                       "pagedAttention: sequence \(s) needs more than \(maxBlocks) blocks")
            for t in start..<end {
                tokenSeq[t] = s
                tokenPos[t] = seqLen - (end - t)
            }
        }
        let kvWidth = numKVHeads * headSize
        if let format = cache.key.dtype.float8Format {
            // fp8 · scale, as vLLM's kernels read an fp8 cache.
            let (k, v) = (Float8Rows(base: cache.key.rawPointer.assumingMemoryBound(to: UInt8.self), width: kvWidth,
                                     table: (0..<256).map { format.decode(UInt8($0)) * cache.keyScale }),
                          Float8Rows(base: cache.value.rawPointer.assumingMemoryBound(to: UInt8.self), width: kvWidth,
                                     table: (0..<256).map { format.decode(UInt8($0)) * cache.valueScale }))
            attend(query: query, keys: k, values: v, metadata: m, tokenSeq: tokenSeq, tokenPos: tokenPos, numHeads: numHeads,
                   numKVHeads: numKVHeads, headSize: headSize, blockSize: blockSize, scale: scale, out: out)
        } else {
            attend(query: query, keys: FloatRows(base: cache.key.floatPointer, width: kvWidth),
                   values: FloatRows(base: cache.value.floatPointer, width: kvWidth), metadata: m, tokenSeq: tokenSeq,
                   tokenPos: tokenPos, numHeads: numHeads, numKVHeads: numKVHeads, headSize: headSize, blockSize: blockSize,
                   scale: scale, out: out)
        }
    }

    /// The attention of every (token, head) over K and V rows read through `Rows` (f32, or fp8 decoded).
    private func attend<Rows: KVRows>(query: Tensor, keys kc: Rows, values vc: Rows, metadata m: AttentionMetadata,
                                      tokenSeq: [Int], tokenPos: [Int], numHeads: Int, numKVHeads: Int, headSize: Int,
                                      blockSize: Int, scale: Float, out: Tensor) {
        let numTokens = m.numTokens, q = query.floatPointer, o = out.floatPointer
        let tables = m.blockTables.int32Pointer, maxBlocks = m.blockTables.shape[1]
        let groupSize = numHeads / numKVHeads
        let maxContext = m.maxSeqLen
        tokenSeq.withUnsafeBufferPointer { tokenSeq in
            tokenPos.withUnsafeBufferPointer { tokenPos in
                parallelFor(numTokens * numHeads) { range in
                    let scores = UnsafeMutablePointer<Float>.allocate(capacity: max(maxContext, 1))
                    defer { scores.deallocate() }
                    for item in range {
                        let t = item / numHeads, h = item % numHeads, kvHead = h / groupSize
                        let table = tables + tokenSeq[t] * maxBlocks
                        let qh = q + (t * numHeads + h) * headSize
                        let contextLen = tokenPos[t] + 1
                        var maxScore = -Float.infinity
                        for j in 0..<contextLen {
                            let slot = Int(table[j / blockSize]) * blockSize + j % blockSize
                            scores[j] = kc.dot(qh, slot: slot, offset: kvHead * headSize, count: headSize) * scale
                            maxScore = max(maxScore, scores[j])
                        }
                        var total: Float = 0
                        for j in 0..<contextLen {
                            scores[j] = expf(scores[j] - maxScore)
                            total += scores[j]
                        }
                        let oh = o + (t * numHeads + h) * headSize
                        oh.update(repeating: 0, count: headSize)
                        for j in 0..<contextLen {
                            let slot = Int(table[j / blockSize]) * blockSize + j % blockSize
                            vc.accumulate(scores[j] / total, slot: slot, offset: kvHead * headSize, count: headSize, into: oh)
                        }
                    }
                }
            }
        }
    }
}

/// K or V rows of a paged cache, by slot.
private protocol KVRows {
    func dot(_ q: UnsafeMutablePointer<Float>, slot: Int, offset: Int, count: Int) -> Float
    func accumulate(_ p: Float, slot: Int, offset: Int, count: Int, into out: UnsafeMutablePointer<Float>)
}

private struct FloatRows: KVRows {
    let base: UnsafeMutablePointer<Float>
    let width: Int

    @inline(__always)
    func dot(_ q: UnsafeMutablePointer<Float>, slot: Int, offset: Int, count: Int) -> Float {
        let row = base + slot * width + offset
        var sum: Float = 0
        for d in 0..<count { sum += q[d] * row[d] }
        return sum
    }

    @inline(__always)
    func accumulate(_ p: Float, slot: Int, offset: Int, count: Int, into out: UnsafeMutablePointer<Float>) {
        let row = base + slot * width + offset
        for d in 0..<count { out[d] += p * row[d] }
    }
}

/// fp8 rows, each byte read through `table` (its value times the cache's scale).
private struct Float8Rows: KVRows {
    let base: UnsafeMutablePointer<UInt8>
    let width: Int
    let table: [Float]

    @inline(__always)
    func dot(_ q: UnsafeMutablePointer<Float>, slot: Int, offset: Int, count: Int) -> Float {
        let row = base + slot * width + offset
        return table.withUnsafeBufferPointer { table in
            var sum: Float = 0
            for d in 0..<count { sum += q[d] * table[Int(row[d])] }
            return sum
        }
    }

    @inline(__always)
    func accumulate(_ p: Float, slot: Int, offset: Int, count: Int, into out: UnsafeMutablePointer<Float>) {
        let row = base + slot * width + offset
        table.withUnsafeBufferPointer { table in
            for d in 0..<count { out[d] += p * table[Int(row[d])] }
        }
    }
}
