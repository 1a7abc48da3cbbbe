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
        let tables = m.blockTables.int32Pointer, maxBlocks = m.blockTables.shape[1]

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
        let q = query.floatPointer, o = out.floatPointer
        let kc = cache.key.floatPointer, vc = cache.value.floatPointer
        let groupSize = numHeads / numKVHeads, kvWidth = numKVHeads * headSize
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
                            let kh = kc + slot * kvWidth + kvHead * headSize
                            var dot: Float = 0
                            for d in 0..<headSize { dot += qh[d] * kh[d] }
                            scores[j] = dot * scale
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
                            let vh = vc + slot * kvWidth + kvHead * headSize
                            let p = scores[j] / total
                            for d in 0..<headSize { oh[d] += p * vh[d] }
                        }
                    }
                }
            }
        }
    }
}
