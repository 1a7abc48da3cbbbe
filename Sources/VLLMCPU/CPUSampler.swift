import Foundation
import VLLMCompute

/// The sampler of `SamplingRow`'s spec, one row at a time, written to be obviously right: the
/// oracle every other backend's sampler is tested against.
///
/// Within the spec's order, the details a twin must reproduce:
/// - logprobs: `log_softmax` of the raw row; `sampledRank` counts tokens whose logprob is ≥ the
///   sampled one's (vLLM's rank); `top` holds the `numLogprobs` most likely, ties by lower id
///   (a negative `numLogprobs` means the whole vocabulary).
/// - min-p, top-k and top-p each remove tokens from the candidates left by the previous one;
///   top-p measures mass over the remaining candidates renormalized, walking them most likely
///   first (ties by lower id) and stopping at the first whose running sum reaches `topP`.
/// - The draw takes the lowest id among equal `p / q`; a row with no finite logit gives token 0.
public enum CPUSampler {
    /// logits [rows.count, vocabSize] f32, row-major.
    public static func sample(logits: UnsafeBufferPointer<Float>, vocabSize: Int, rows: [SamplingRow]) -> SamplerOutput
    {
        precondition(
            logits.count >= rows.count * vocabSize,
            "logits hold \(logits.count) values, need \(rows.count) × \(vocabSize)")
        var tokenIds: [Int32] = []
        var logprobs: [TokenLogprobs?] = []
        for (index, row) in rows.enumerated() {
            let raw = Array(logits[index * vocabSize..<(index + 1) * vocabSize])
            let token = sampleRow(raw, row)
            tokenIds.append(Int32(token))
            logprobs.append(row.numLogprobs.map { TokenLogprobs(rawLogits: raw, token: token, numTop: $0) })
        }
        return SamplerOutput(tokenIds: tokenIds, logprobs: logprobs)
    }

    /// Steps 2–5 of the spec for one row of raw logits [V]; returns the token id.
    static func sampleRow(_ raw: [Float], _ row: SamplingRow) -> Int {
        let logits = processedLogits(raw, row)
        if row.isGreedy { return argmax(logits) }
        return draw(filteredProbabilities(logits, row), row)
    }

    /// Steps 2–4: allowed and banned tokens, logit bias, penalties.
    static func processedLogits(_ raw: [Float], _ row: SamplingRow) -> [Float] {
        var logits = raw
        let vocabSize = logits.count

        if let allowed = row.allowedTokenIds {
            var keep = [Bool](repeating: false, count: vocabSize)
            for id in allowed where inVocab(id, vocabSize) { keep[Int(id)] = true }
            for i in 0..<vocabSize where !keep[i] { logits[i] = -.infinity }
        }
        for id in row.bannedTokenIds where inVocab(id, vocabSize) { logits[Int(id)] = -.infinity }
        for (id, bias) in row.logitBias where inVocab(id, vocabSize) { logits[Int(id)] += bias }

        if row.hasPenalties { applyPenalties(&logits, row) }
        return logits
    }

    /// Step 5 before the draw: probabilities at the row's temperature, 0 for every token that
    /// min-p, top-k or top-p removed (not renormalized).
    static func filteredProbabilities(_ logits: [Float], _ row: SamplingRow) -> [Float] {
        let vocabSize = logits.count
        var probs = softmax(logits.map { $0 / row.temperature })

        if row.minP > 0 {
            let threshold = row.minP * (probs.max() ?? 0)
            for i in 0..<vocabSize where probs[i] < threshold { probs[i] = 0 }
        }
        if row.topK != nil || row.topP < 1 {
            // Candidates, most likely first, ties by lower id.
            var order = (0..<vocabSize).filter { probs[$0] > 0 }
            order.sort { probs[$0] != probs[$1] ? probs[$0] > probs[$1] : $0 < $1 }
            if let topK = row.topK, topK < order.count {
                for i in order[topK...] { probs[i] = 0 }
                order.removeSubrange(topK...)
            }
            if row.topP < 1 {
                let total = order.reduce(0.0) { $0 + Double(probs[$1]) }
                var cumulative = 0.0
                var kept = 0
                for i in order {
                    kept += 1
                    cumulative += Double(probs[i]) / total
                    if cumulative >= Double(row.topP) { break }
                }
                for i in order[kept...] { probs[i] = 0 }
            }
        }
        return probs
    }

    /// The draw: the lowest id among the largest `p / q`; token 0 when every `p` is 0.
    static func draw(_ probs: [Float], _ row: SamplingRow) -> Int {
        // Exponential race: argmax p_i / q_i with q_i ~ Exp(1), a draw from the p's distribution.
        var best = 0
        var bestScore = -Float.infinity
        for i in probs.indices where probs[i] > 0 {
            let q = -log(SamplingRandom.uniform(seed: row.seed, step: row.step, token: i))
            let score = probs[i] / q
            if score > bestScore {
                best = i
                bestScore = score
            }
        }
        return best
    }

    /// Repetition penalty over prompt and output, then frequency and presence over output.
    static func applyPenalties(_ logits: inout [Float], _ row: SamplingRow) {
        let vocabSize = logits.count
        if row.repetitionPenalty != 1 {
            var seen = [Bool](repeating: false, count: vocabSize)
            for id in row.promptTokenIds + row.outputTokenIds where inVocab(id, vocabSize) { seen[Int(id)] = true }
            for i in 0..<vocabSize where seen[i] {
                logits[i] = logits[i] > 0 ? logits[i] / row.repetitionPenalty : logits[i] * row.repetitionPenalty
            }
        }
        if row.frequencyPenalty != 0 || row.presencePenalty != 0 {
            var counts: [Int: Int] = [:]
            for id in row.outputTokenIds where inVocab(id, vocabSize) { counts[Int(id), default: 0] += 1 }
            for (i, count) in counts {
                logits[i] -= row.frequencyPenalty * Float(count) + row.presencePenalty
            }
        }
    }

    /// Lowest id among the largest values; 0 when none is larger than -inf.
    static func argmax(_ values: [Float]) -> Int {
        var best = 0
        for i in values.indices where values[i] > values[best] { best = i }
        return best
    }

    /// softmax in f32 with the sum in f64; -inf logits get probability 0.
    static func softmax(_ logits: [Float]) -> [Float] {
        let maximum = logits.max() ?? 0
        guard maximum > -.infinity else { return [Float](repeating: 0, count: logits.count) }
        let exps = logits.map { exp($0 - maximum) }
        let sum = exps.reduce(0.0) { $0 + Double($1) }
        return exps.map { Float(Double($0) / sum) }
    }

    private static func inVocab(_ id: Int32, _ vocabSize: Int) -> Bool { id >= 0 && Int(id) < vocabSize }
}
