/// What one engine step computes: vLLM v1's `SchedulerOutput`, flattened to one list.
///
/// A model runner builds the step's flat inputs from it directly. With `T = totalNumScheduledTokens`
/// and `R = scheduledRequests.count`, in this order:
/// - input ids [T]: the concatenation of each request's `tokenIds`;
/// - positions [T]: `numComputedTokens + i` for `i` in `0..<numScheduledTokens`, per request;
/// - query start offsets [R + 1]: running sums of `numScheduledTokens`;
/// - sequence lengths [R]: `numComputedTokens + numScheduledTokens`;
/// - block tables [R, max blocks]: `blockIds` (token `p` lives in slot
///   `blockIds[p / blockSize] * blockSize + p % blockSize`);
/// - logits rows: the last token of each request with `isSampling` (and, with draft tokens, the last real
///   token and every draft), sampled with `SamplingRow.step = numOutputTokens` (+ i for draft row i).
public struct SchedulerOutput: Sendable, Equatable {
    /// Running requests first (in scheduling order), then newly scheduled ones.
    public var scheduledRequests: [ScheduledRequest]
    public var totalNumScheduledTokens: Int
    /// Requests preempted during this `schedule()` call: their blocks are gone, and they will be
    /// scheduled again later from `numComputedTokens == 0`. A runner drops their persistent rows.
    public var preemptedRequestIds: [String]
    /// Requests that finished or were aborted since the previous `schedule()`: a runner drops
    /// their persistent rows.
    public var finishedRequestIds: [String]

    public init(
        scheduledRequests: [ScheduledRequest] = [], totalNumScheduledTokens: Int = 0,
        preemptedRequestIds: [String] = [], finishedRequestIds: [String] = []
    ) {
        self.scheduledRequests = scheduledRequests
        self.totalNumScheduledTokens = totalNumScheduledTokens
        self.preemptedRequestIds = preemptedRequestIds
        self.finishedRequestIds = finishedRequestIds
    }

    public var isEmpty: Bool { scheduledRequests.isEmpty }

    /// `numScheduledTokens` per request id (vLLM's `num_scheduled_tokens`).
    public var numScheduledTokens: [String: Int] {
        Dictionary(uniqueKeysWithValues: scheduledRequests.map { ($0.requestId, $0.numScheduledTokens) })
    }
}

/// One request's share of a step.
public struct ScheduledRequest: Sendable, Equatable {
    public var requestId: String
    /// Tokens to feed this step [numScheduledTokens]: `allTokenIds[numComputedTokens ..<
    /// numComputedTokens + numScheduledTokens]`.
    public var tokenIds: [Int]
    /// Tokens already in the cache before this step (prefix-cache hits included); the first fed
    /// token sits at this position.
    public var numComputedTokens: Int
    public var numScheduledTokens: Int
    /// The whole block table [ceil((numComputedTokens + numScheduledTokens) / blockSize)] or more.
    public var blockIds: [Int]
    /// Blocks allocated by this step (a suffix of `blockIds`).
    public var newBlockIds: [Int]
    /// True when this step reaches the end of the request's tokens, so its last position's logits
    /// are sampled (false for a prompt chunk that leaves more prompt to compute).
    public var isSampling: Bool
    /// Output tokens so far: the sampled token's index within the output (`SamplingRow.step`).
    public var numOutputTokens: Int
    /// True the first time the request is scheduled, or again after a preemption: a runner sets
    /// up (or resets) its persistent row.
    public var isNewOrResumed: Bool
    /// What the sampler (and prompt logprobs) need of the request, as of this step: the runner reads
    /// nothing else of the scheduler.
    public var sampling: SamplingInputs
    /// Draft tokens this step verifies (speculative decoding): the last `specTokenIds.count` of `tokenIds`.
    /// A sampling request with drafts samples at its last real token and at every draft, `1 + count` rows.
    public var specTokenIds: [Int] = []
    /// The adapter it runs with (multi-LoRA).
    public var lora: LoRARequest? = nil

    /// The input token of a position whose token the step still in flight samples (async scheduling).
    public static let pendingTokenId = -1

    public init(
        requestId: String, tokenIds: [Int], numComputedTokens: Int, numScheduledTokens: Int,
        blockIds: [Int], newBlockIds: [Int], isSampling: Bool, numOutputTokens: Int, isNewOrResumed: Bool,
        sampling: SamplingInputs
    ) {
        self.sampling = sampling
        self.requestId = requestId
        self.tokenIds = tokenIds
        self.numComputedTokens = numComputedTokens
        self.numScheduledTokens = numScheduledTokens
        self.blockIds = blockIds
        self.newBlockIds = newBlockIds
        self.isSampling = isSampling
        self.numOutputTokens = numOutputTokens
        self.isNewOrResumed = isNewOrResumed
    }
}

/// A request's sampling inputs at one step (vLLM's per-request sampling metadata). The arrays are
/// the request's own (copy-on-write: handing them over copies nothing).
public struct SamplingInputs: Sendable, Equatable {
    public var params: SamplingParams
    /// `Request.seed`: the request's own, or the one drawn at arrival.
    public var seed: UInt64
    public var promptTokenIds: [Int]
    public var outputTokenIds: [Int]
    /// Tokens the sampler must not pick now (min_tokens, bad_words).
    public var bannedTokenIds: [Int]

    public init(params: SamplingParams, seed: UInt64, promptTokenIds: [Int], outputTokenIds: [Int], bannedTokenIds: [Int]) {
        self.params = params
        self.seed = seed
        self.promptTokenIds = promptTokenIds
        self.outputTokenIds = outputTokenIds
        self.bannedTokenIds = bannedTokenIds
    }
}
