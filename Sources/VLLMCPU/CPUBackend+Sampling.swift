import VLLMCompute

extension CPUBackend {
    public func sample(logits: Tensor, rows: [SamplingRow]) throws -> SamplerOutput {
        let vocabSize = logits.shape.last!
        try expect(logits.count == rows.count * vocabSize, "sample: logits \(logits.shape) for \(rows.count) rows")
        return CPUSampler.sample(
            logits: UnsafeBufferPointer(start: logits.floatPointer, count: logits.count),
            vocabSize: vocabSize, rows: rows)
    }
}
