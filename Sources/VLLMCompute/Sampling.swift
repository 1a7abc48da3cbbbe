#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the sampler is asked to do for one row of logits.
///
/// The sampler applies, in this order (vLLM v1's order):
/// 1. logprobs, if asked, from the *raw* logits: `log_softmax(logits)` (vLLM's `raw_logprobs`);
/// 2. `allowedTokenIds` (everything else → -inf) and `bannedTokenIds` (→ -inf);
/// 3. `logitBias` added;
/// 4. penalties: repetition (over prompt and output tokens: positive logits ÷ r, negative × r),
///    then frequency (− f · count in output) and presence (− p if the token occurs in output);
/// 5. `temperature == 0`: argmax (lowest id wins ties); otherwise logits ÷ temperature, softmax,
///    min-p (drop p < minP · max p), top-k, top-p (keep the smallest prefix of the sorted
///    distribution whose mass reaches topP; the top token always stays), and the draw
///    `argmax_i p_i / q_i` with `q_i = -log(u_i)`, `u_i = SamplingRandom.uniform(seed, step, i)`.
///
/// The draw is a function of (seed, step, token) alone, so a seeded request gets the same tokens
/// whatever else is in the batch, and every backend draws the same numbers.
public struct SamplingRow: Sendable, Equatable {
    public var temperature: Float = 1
    /// `nil` = all tokens.
    public var topK: Int? = nil
    public var topP: Float = 1
    public var minP: Float = 0
    public var presencePenalty: Float = 0
    public var frequencyPenalty: Float = 0
    public var repetitionPenalty: Float = 1
    public var seed: UInt64 = 0
    /// Index of the token being drawn within the request's output (0 for the first).
    public var step: Int = 0
    /// Prompt tokens (repetition penalty only).
    public var promptTokenIds: [Int32] = []
    /// Tokens generated so far (all penalties).
    public var outputTokenIds: [Int32] = []
    public var logitBias: [Int32: Float] = [:]
    public var allowedTokenIds: [Int32]? = nil
    public var bannedTokenIds: [Int32] = []
    /// Top logprobs to return for this row (`nil` = none; 0 = only the sampled token's).
    public var numLogprobs: Int? = nil

    public init() {}

    public var isGreedy: Bool { temperature < 1e-5 }
    public var hasPenalties: Bool {
        presencePenalty != 0 || frequencyPenalty != 0 || repetitionPenalty != 1
    }
    /// The argmax of the raw logits and nothing else: greedy, no logprobs, masks, bias or penalties.
    public var isPlainGreedy: Bool {
        isGreedy && numLogprobs == nil && !hasPenalties && logitBias.isEmpty && allowedTokenIds == nil && bannedTokenIds.isEmpty
    }
}

/// The sampled token of each row, and the logprobs that were asked for.
public struct SamplerOutput: Sendable, Equatable {
    public var tokenIds: [Int32]
    /// Per row, `nil` where none were asked for.
    public var logprobs: [TokenLogprobs?]

    public init(tokenIds: [Int32], logprobs: [TokenLogprobs?]) {
        self.tokenIds = tokenIds
        self.logprobs = logprobs
    }
}

/// Logprob of the sampled token, its rank among all tokens (1 = most likely), and the top-k.
public struct TokenLogprobs: Sendable, Equatable {
    public var sampledLogprob: Float
    public var sampledRank: Int
    /// Most likely first; ties by lower id.
    public var top: [(tokenId: Int32, logprob: Float)]

    public init(sampledLogprob: Float, sampledRank: Int, top: [(tokenId: Int32, logprob: Float)]) {
        self.sampledLogprob = sampledLogprob
        self.sampledRank = sampledRank
        self.top = top
    }

    public static func == (a: TokenLogprobs, b: TokenLogprobs) -> Bool {
        a.sampledLogprob == b.sampledLogprob && a.sampledRank == b.sampledRank
            && a.top.map(\.tokenId) == b.top.map(\.tokenId) && a.top.map(\.logprob) == b.top.map(\.logprob)
    }
}

/// Counter-based random numbers for sampling: the same on every backend and every batch.
///
/// `uniform(seed, step, token)` = top 24 bits of `mix(mix(mix(seed) ^ step) ^ token)` as a float in
/// (0, 1], where `mix` is SplitMix64's finalizer applied to `x + 0x9E3779B97F4A7C15`. A CUDA kernel
/// computes exactly these bits.
public enum SamplingRandom {
    @inlinable
    public static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inlinable
    public static func uniform(seed: UInt64, step: Int, token: Int) -> Float {
        let bits = mix(mix(mix(seed) ^ UInt64(truncatingIfNeeded: step)) ^ UInt64(truncatingIfNeeded: token))
        // 24 random bits → (0, 1]: never 0, so -log(u) stays finite.
        return Float((bits >> 40) + 1) * (1.0 / 16_777_216.0)
    }
}

extension TokenLogprobs {
    /// vLLM's raw logprobs of one row: log_softmax(logits) (sum in f64) at `token`, its rank (tokens at
    /// least as likely, itself included), and the `numTop` most likely (ties by lower id; negative: all).
    /// The host reference every sampler and the prompt-logprobs path share.
    public init(rawLogits logits: [Float], token: Int, numTop: Int) {
        let logprobs = Self.logSoftmax(logits)
        let logprob = logprobs[token]
        let rank = logprobs.reduce(0) { $0 + ($1 >= logprob ? 1 : 0) }
        let count = numTop < 0 ? logits.count : min(numTop, logits.count)
        let top = Self.topIndices(logprobs, count: count).map { (tokenId: Int32($0), logprob: logprobs[$0]) }
        self.init(sampledLogprob: logprob, sampledRank: rank, top: top)
    }

    /// Indices of the `count` largest values, largest first, ties by lower index. A few are kept
    /// sorted while scanning (the usual 1–20 logprobs); more sort everything.
    public static func topIndices(_ values: [Float], count: Int) -> [Int] {
        func before(_ a: Int, _ b: Int) -> Bool { values[a] != values[b] ? values[a] > values[b] : a < b }
        guard count > 0 else { return [] }
        guard count <= 64 else { return Array(values.indices.sorted(by: before).prefix(count)) }
        var top: [Int] = []
        top.reserveCapacity(count + 1)
        for i in values.indices {
            guard top.count < count || before(i, top[top.count - 1]) else { continue }
            let position = top.firstIndex { before(i, $0) } ?? top.count
            top.insert(i, at: position)
            if top.count > count { top.removeLast() }
        }
        return top
    }

    static func logSoftmax(_ logits: [Float]) -> [Float] {
        let maximum = logits.max() ?? 0
        guard maximum > -.infinity else { return [Float](repeating: -.infinity, count: logits.count) }
        let sum = logits.reduce(0.0) { $0 + Double(exp($1 - maximum)) }
        let logSum = Float(log(sum))
        return logits.map { $0 - maximum - logSum }
    }
}
