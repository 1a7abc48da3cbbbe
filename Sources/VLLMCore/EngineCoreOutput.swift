/// What one step did for one request (vLLM's `EngineCoreOutput`): the tokens it gained, and how it
/// finished if it did. Stop strings are the caller's (they need the detokenized text; see
/// `StopChecker`), and so are logprobs (they come from the sampler, not the scheduler).
public struct EngineCoreOutput: Sendable, Equatable {
    public var requestId: String
    /// Tokens appended this step (at most one without speculative decoding).
    public var newTokenIds: [Int]
    /// `nil` while the request goes on.
    public var finishReason: FinishReason?
    public var stopReason: StopReason?
    /// Prompt tokens that were prefix-cache hits.
    public var numCachedTokens: Int

    public init(
        requestId: String, newTokenIds: [Int], finishReason: FinishReason? = nil, stopReason: StopReason? = nil,
        numCachedTokens: Int = 0
    ) {
        self.requestId = requestId
        self.newTokenIds = newTokenIds
        self.finishReason = finishReason
        self.stopReason = stopReason
        self.numCachedTokens = numCachedTokens
    }

    public var isFinished: Bool { finishReason != nil }
}
