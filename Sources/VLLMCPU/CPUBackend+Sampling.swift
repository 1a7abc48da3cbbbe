import VLLMCompute

extension CPUBackend {
    /// Computed at once: the CPU has no device to overlap with.
    public func launchSample(logits: Tensor, rows: [SamplingRow]) throws -> PendingSample {
        let vocabSize = logits.shape.last!
        try expect(logits.count == rows.count * vocabSize, "sample: logits \(logits.shape) for \(rows.count) rows")
        let output = CPUSampler.sample(
            logits: UnsafeBufferPointer(start: logits.floatPointer, count: logits.count),
            vocabSize: vocabSize, rows: rows)
        return PendingSample(done: output, tokens: output.tokenIds.isEmpty ? nil : (try makeInt32(output.tokenIds), 1))
    }

    public func scatterSampledTokens(_ sampled: Tensor, stride: Int, rows: Tensor, positions: Tensor, into tokenIds: Tensor) throws {
        try expect(sampled.dtype == .int32 && rows.dtype == .int32 && positions.dtype == .int32 && tokenIds.dtype == .int32
                   && rows.count == positions.count && stride >= 1,
                   "scatterSampledTokens: sampled \(sampled), rows \(rows), positions \(positions), tokenIds \(tokenIds)")
        let source = sampled.int32Pointer, target = tokenIds.int32Pointer
        let rowIndex = rows.int32Pointer, positionIndex = positions.int32Pointer
        for i in 0..<positions.count {
            let row = Int(rowIndex[i]) * stride, position = Int(positionIndex[i])
            try expect(row >= 0 && row < sampled.count && position >= 0 && position < tokenIds.count,
                       "scatterSampledTokens: row \(rowIndex[i]) or position \(position) out of range")
            target[position] = source[row]
        }
    }
}
