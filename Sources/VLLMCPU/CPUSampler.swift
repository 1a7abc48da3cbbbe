import VLLMCompute

/// Placeholder until the full sampler lands: greedy only.
public enum CPUSampler {
    public static func sample(logits: UnsafeBufferPointer<Float>, vocabSize: Int, rows: [SamplingRow]) -> SamplerOutput {
        var ids: [Int32] = []
        for r in rows.indices {
            let row = logits[(r * vocabSize)..<((r + 1) * vocabSize)]
            var best = row.startIndex
            for i in row.indices where row[i] > row[best] { best = i }
            ids.append(Int32(best - r * vocabSize))
        }
        return SamplerOutput(tokenIds: ids, logprobs: rows.map { _ in nil })
    }
}
