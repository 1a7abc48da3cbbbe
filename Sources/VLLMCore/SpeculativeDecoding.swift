/// vLLM's `--speculative-config` for the methods this engine runs: `{"method": "ngram", "num_speculative_tokens": k,
/// "prompt_lookup_min": a, "prompt_lookup_max": b}` (prompt lookup: drafts copied from earlier in the request's own
/// tokens), and `{"model": DRAFT, "num_speculative_tokens": k}` (a smaller model of the same vocabulary drafts k
/// tokens greedily, one forward each). The learned proposers (eagle, medusa, mtp, …) are refused, naming what was asked.
public struct SpeculativeConfig: Sendable, Equatable {
    public var numSpeculativeTokens: Int
    public var promptLookupMin: Int
    public var promptLookupMax: Int
    /// The draft model's folder (or hub id) for `method: draft_model`; nil for n-gram lookup.
    public var draftModel: String?

    public init(numSpeculativeTokens: Int, promptLookupMin: Int, promptLookupMax: Int) {
        self.numSpeculativeTokens = numSpeculativeTokens
        self.promptLookupMin = promptLookupMin
        self.promptLookupMax = promptLookupMax
    }

    /// Drafts by a draft model of folder `draftModel`.
    public init(numSpeculativeTokens: Int, draftModel: String) {
        self.init(numSpeculativeTokens: numSpeculativeTokens, promptLookupMin: 5, promptLookupMax: 5)
        self.draftModel = draftModel
    }

    /// vLLM's name for the method: `ngram` or `draft_model`.
    public var method: String { draftModel == nil ? "ngram" : "draft_model" }
}

/// Prompt-lookup drafting (vLLM's `NgramProposer`): find the longest n-gram, min ≤ n ≤ max, that ends the tokens and
/// occurred before, and propose the (up to k) tokens that followed its earliest occurrence. Computed as vLLM does, by
/// the KMP failure function over the reversed tokens, in O(length).
public struct NgramProposer: Sendable, Equatable {
    public var config: SpeculativeConfig
    public var maxModelLen: Int

    public init(config: SpeculativeConfig, maxModelLen: Int) {
        self.config = config
        self.maxModelLen = maxModelLen
    }

    public func propose(_ tokens: [Int]) -> [Int] {
        let total = tokens.count
        let minN = config.promptLookupMin, maxN = config.promptLookupMax
        guard total >= minN else { return [] }
        var k = min(config.numSpeculativeTokens, maxModelLen - total)
        guard k > 0 else { return [] }
        // tokens reversed: r[i] = tokens[total - 1 - i]; lps[i] = the longest proper prefix of r[0...i] that is
        // also its suffix, kept for i < maxN (longer matches restart from lps[maxN - 1]).
        @inline(__always) func r(_ i: Int) -> Int { tokens[total - 1 - i] }
        var lps = [Int](repeating: 0, count: maxN)
        var longest = 0, position = 0, previous = 0
        var i = 1
        while i < total {
            if r(previous) == r(i) {
                previous += 1
                if previous >= longest {
                    longest = previous
                    position = i
                }
                if i < maxN { lps[i] = previous }
                if previous == maxN { previous = lps[maxN - 1] }
                i += 1
            } else if previous != 0 {
                previous = lps[previous - 1]
            } else {
                i += 1
            }
        }
        guard longest >= minN else { return [] }
        let start = total - 1 - position + longest
        k = min(k, total - start)
        return Array(tokens[start..<start + k])
    }
}

/// vLLM's speculative-decoding counters (`vllm:spec_decode_*` on /metrics): drafts verified, draft tokens proposed,
/// draft tokens accepted, and accepted tokens by draft position.
public struct SpecDecodingStats: Sendable, Equatable {
    public var numDrafts = 0
    public var numDraftTokens = 0
    public var numAcceptedTokens = 0
    /// Index i: drafts whose token i was accepted.
    public var numAcceptedTokensPerPosition: [Int] = []

    public init(numSpeculativeTokens: Int = 0) {
        numAcceptedTokensPerPosition = Array(repeating: 0, count: numSpeculativeTokens)
    }

    /// Accepted draft tokens over drafted ones, in percent (0 before any draft).
    public var acceptanceRate: Double { numDraftTokens > 0 ? 100 * Double(numAcceptedTokens) / Double(numDraftTokens) : 0 }
    /// Tokens a verify step gains on average: 1 + accepted tokens per draft (0 before any draft).
    public var meanAcceptanceLength: Double { numDrafts > 0 ? 1 + Double(numAcceptedTokens) / Double(numDrafts) : 0 }

    /// One log line after vLLM's "SpecDecoding metrics" (its counts, without its throughputs, plus the number of drafts).
    public var summary: String {
        func fixed(_ value: Double, _ digits: Int) -> String {
            let scale = Double([1, 10, 100, 1000][digits])
            let rounded = (value * scale).rounded() / scale
            var text = String(rounded)
            if let dot = text.firstIndex(of: ".") {
                let decimals = text.distance(from: dot, to: text.endIndex) - 1
                text += String(repeating: "0", count: max(0, digits - decimals))
            }
            return text
        }
        let drafts = Double(max(numDrafts, 1))
        let perPosition = numAcceptedTokensPerPosition.map { fixed(Double($0) / drafts, 3) }.joined(separator: ", ")
        return "SpecDecoding metrics: Mean acceptance length: \(fixed(meanAcceptanceLength, 2)), "
            + "Accepted: \(numAcceptedTokens) tokens, Drafted: \(numDraftTokens) tokens, Drafts: \(numDrafts), "
            + "Per-position acceptance rate: \(perPosition), Avg Draft acceptance rate: \(fixed(acceptanceRate, 1))%"
    }

    /// What was counted since `earlier` (a benchmark's window).
    public func subtracting(_ earlier: SpecDecodingStats) -> SpecDecodingStats {
        var delta = self
        delta.numDrafts -= earlier.numDrafts
        delta.numDraftTokens -= earlier.numDraftTokens
        delta.numAcceptedTokens -= earlier.numAcceptedTokens
        for (i, count) in earlier.numAcceptedTokensPerPosition.enumerated() where i < delta.numAcceptedTokensPerPosition.count {
            delta.numAcceptedTokensPerPosition[i] -= count
        }
        return delta
    }

    /// Both counts summed (data-parallel replicas).
    public func adding(_ other: SpecDecodingStats) -> SpecDecodingStats {
        var sum = self
        sum.numDrafts += other.numDrafts
        sum.numDraftTokens += other.numDraftTokens
        sum.numAcceptedTokens += other.numAcceptedTokens
        let width = max(numAcceptedTokensPerPosition.count, other.numAcceptedTokensPerPosition.count)
        sum.numAcceptedTokensPerPosition = (0..<width).map {
            (numAcceptedTokensPerPosition.indices.contains($0) ? numAcceptedTokensPerPosition[$0] : 0)
                + (other.numAcceptedTokensPerPosition.indices.contains($0) ? other.numAcceptedTokensPerPosition[$0] : 0)
        }
        return sum
    }

    mutating func record(numDraftTokens drafted: Int, numAccepted accepted: Int) {
        numDrafts += 1
        numDraftTokens += drafted
        numAcceptedTokens += accepted
        if numAcceptedTokensPerPosition.count < drafted {
            numAcceptedTokensPerPosition += Array(repeating: 0, count: drafted - numAcceptedTokensPerPosition.count)
        }
        for position in 0..<accepted { numAcceptedTokensPerPosition[position] += 1 }
    }
}
