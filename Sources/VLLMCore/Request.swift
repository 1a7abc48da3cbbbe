/// One sequence being generated: vLLM v1's `Request`.
///
/// The scheduler owns every `Request` while it lives; the engine reads them through
/// `Scheduler.request(_:)`. There are no prefill or decode phases: a request only has
/// `numComputedTokens` (tokens whose K/V are in the cache) and `numTokens` (prompt + output);
/// each step computes some of the difference. `n > 1` is expanded by the caller into `n`
/// requests with the same prompt, which then share the prompt's cached blocks.
public struct Request: Sendable, Equatable {
    public let requestId: String
    public let promptTokenIds: [Int]
    public let samplingParams: SamplingParams
    /// The model's end-of-sequence token; `nil` when the model has none. Ignored with `ignoreEos`.
    public let eosTokenId: Int?
    /// Seconds, on any clock the caller likes; only compared and reported.
    public let arrivalTime: Double
    /// The seed its sampling draws from: `samplingParams.seed`, else the one the engine drew when
    /// the request arrived (vLLM draws per request too), so its samples never depend on the batch.
    public let seed: UInt64
    /// The adapter it runs with (multi-LoRA); nil for the base model.
    public let lora: LoRARequest?

    public internal(set) var status: RequestStatus = .waiting
    /// Tokens whose K/V are in the cache (or scheduled to be, once `updateFromOutput` runs).
    public internal(set) var numComputedTokens: Int = 0
    public internal(set) var outputTokenIds: [Int] = []
    /// `promptTokenIds + outputTokenIds`.
    public internal(set) var allTokenIds: [Int]
    public internal(set) var numPreemptions: Int = 0
    /// Why a request that finished with `.stop` stopped, where it was a stop token or string.
    public internal(set) var stopReason: StopReason? = nil
    /// Prompt tokens found in the prefix cache when the request was first scheduled.
    public internal(set) var numCachedTokens: Int? = nil
    /// One per full block of `allTokenIds`, chained (see `BlockHash`).
    public internal(set) var blockHashes: [BlockHash] = []

    public init(
        requestId: String, promptTokenIds: [Int], samplingParams: SamplingParams = SamplingParams(),
        eosTokenId: Int? = nil, arrivalTime: Double = 0, drawnSeed: UInt64 = 0, lora: LoRARequest? = nil
    ) {
        self.lora = lora
        self.requestId = requestId
        self.promptTokenIds = promptTokenIds
        self.samplingParams = samplingParams
        self.eosTokenId = eosTokenId
        self.arrivalTime = arrivalTime
        self.seed = samplingParams.seed.map { UInt64(bitPattern: Int64($0)) } ?? drawnSeed
        self.allTokenIds = promptTokenIds
    }

    public var numPromptTokens: Int { promptTokenIds.count }
    public var numOutputTokens: Int { outputTokenIds.count }
    public var numTokens: Int { allTokenIds.count }
    /// Draft tokens proposed for its next step (speculative decoding): fed after its last token and verified
    /// by that step's samples. Not part of `allTokenIds` until accepted.
    public internal(set) var specTokenIds: [Int] = []
    /// Tokens sampled by a step still in flight (async scheduling), not yet appended: 0 or 1.
    public internal(set) var numPendingTokens = 0
    /// The tokens the model will have computed once the step in flight is back.
    public var numTokensWithPending: Int { numTokens + numPendingTokens }
    public var isFinished: Bool { status.isFinished }

    /// The limit on output tokens: `maxTokens`, or what is left of the context when it is `nil`.
    public func maxTokens(maxModelLen: Int) -> Int {
        samplingParams.maxTokens ?? max(1, maxModelLen - numPromptTokens)
    }

    /// Tokens the sampler must not pick now: while fewer than `minTokens` have been generated,
    /// EOS (unless ignored) and every stop token (vLLM's min-tokens logits processor).
    public var tokenIdsBannedByMinTokens: [Int] {
        guard numOutputTokens + numPendingTokens < samplingParams.minTokens else { return [] }
        var banned = samplingParams.stopTokenIds
        if let eosTokenId, !samplingParams.ignoreEos, !banned.contains(eosTokenId) { banned.append(eosTokenId) }
        return banned
    }

    /// Tokens that would complete a bad word now: the last token of every `badWordsTokenIds`
    /// sequence whose other tokens end the output so far (vLLM's bad-words logits processor).
    public var tokenIdsBannedByBadWords: [Int] {
        samplingParams.badWordsTokenIds.compactMap { word in
            guard let last = word.last else { return nil }
            let prefix = word.dropLast()
            return outputTokenIds.count >= prefix.count && outputTokenIds.suffix(prefix.count).elementsEqual(prefix)
                ? last : nil
        }
    }

    /// Everything the sampler must not pick for this request's next token (`SamplingRow.bannedTokenIds`).
    public var bannedTokenIds: [Int] { tokenIdsBannedByMinTokens + tokenIdsBannedByBadWords }

    /// What the sampler needs of it now.
    public var samplingInputs: SamplingInputs {
        SamplingInputs(params: samplingParams, seed: seed, promptTokenIds: promptTokenIds, outputTokenIds: outputTokenIds,
                       bannedTokenIds: bannedTokenIds)
    }

    mutating func appendOutputTokenId(_ tokenId: Int) {
        outputTokenIds.append(tokenId)
        allTokenIds.append(tokenId)
    }

    /// The parent of its first block: its adapter, where it has one — the name (vLLM's key) and the id, which the
    /// server renews whenever a name is loaded again, so blocks of an adapter's old weights never serve its new ones.
    var rootBlockHash: BlockHash? { lora.map { BlockHash(root: "\($0.id)\u{0}\($0.name)") } }

    /// Extends `blockHashes` over every block of `allTokenIds` that is now full. The first block's hash starts
    /// from the adapter (vLLM's extra keys), so requests of different adapters never share blocks.
    mutating func updateBlockHashes(blockSize: Int) {
        while (blockHashes.count + 1) * blockSize <= allTokenIds.count {
            let start = blockHashes.count * blockSize
            blockHashes.append(BlockHash(parent: blockHashes.last ?? rootBlockHash,
                                         tokenIds: allTokenIds[start..<start + blockSize]))
        }
    }
}

/// Where a request is in its life (vLLM's `RequestStatus`).
public enum RequestStatus: Sendable, Equatable {
    case waiting
    case running
    /// Its blocks were taken back; it waits to be recomputed.
    case preempted
    case finished(FinishReason)

    public var isFinished: Bool {
        if case .finished = self { return true }
        return false
    }
}

/// Why a request finished, spelled as the OpenAI API spells `finish_reason`.
public enum FinishReason: String, Sendable, Equatable {
    /// EOS, a stop token or a stop string.
    case stop
    /// `maxTokens` or the model's context length.
    case length
    /// Aborted by the caller (client gone, engine shutting down).
    case abort
}

/// What stopped a request that finished with `.stop`, as vLLM's `stop_reason` (EOS gives `nil`).
public enum StopReason: Sendable, Equatable, Hashable {
    case tokenId(Int)
    case string(String)
}
