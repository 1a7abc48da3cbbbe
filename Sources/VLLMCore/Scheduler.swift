/// Decides, step after step, which tokens of which requests the model computes (vLLM v1's
/// `Scheduler`).
///
/// A pure function of its state: `schedule()` hands out a plain `SchedulerOutput`, the engine runs
/// the model, and `updateFromOutput` takes the sampled tokens back. One token budget per step, no
/// prefill or decode phases: running requests first, each taking what it still needs (a prompt
/// chunk or one decode token); then waiting ones first come, first served, starting from their
/// longest cached prefix. When the cache runs out the newest running request is preempted: its
/// blocks are freed and it is recomputed later from its tokens.
public struct Scheduler: Sendable {
    public let config: SchedulerConfig
    public private(set) var kvCacheManager: KVCacheManager
    /// Every live request (waiting, running or preempted) by id.
    private var requests: [String: Request] = [:]
    /// First to be admitted first; preempted requests go back to the front.
    private var waiting: [String] = []
    /// Waiting requests that may not start yet, passed over in place: a structured output whose grammar is still
    /// being prepared (vLLM's `WAITING_FOR_FSM`).
    private var held: Set<String> = []
    /// In admission order: the last one is preempted first.
    private var running: [String] = []
    /// Finished or aborted since the last `schedule()`.
    private var finishedRequestIds: [String] = []
    /// Preemptions since the scheduler started.
    public private(set) var numPreemptions = 0
    /// Speculative decoding's counters since the scheduler started (drafts verified, tokens accepted).
    public internal(set) var specDecodingStats = SpecDecodingStats()

    public init(config: SchedulerConfig) {
        self.config = config
        kvCacheManager = KVCacheManager(
            numGPUBlocks: config.numGPUBlocks, blockSize: config.blockSize, maxModelLen: config.maxModelLen,
            enablePrefixCaching: config.enablePrefixCaching)
    }

    public var numRunning: Int { running.count }
    public var numWaiting: Int { waiting.count }
    public var hasUnfinishedRequests: Bool { !requests.isEmpty }
    public var prefixCacheStats: PrefixCacheStats { kvCacheManager.prefixCacheStats }
    /// Fraction of the KV cache in use, 0...1.
    public var kvCacheUsage: Double { kvCacheManager.usage }
    /// Blocks on the free queue (cached-but-unused blocks included).
    public var numFreeBlocks: Int { kvCacheManager.numFreeBlocks }
    public var runningRequestIds: [String] { running }
    public var waitingRequestIds: [String] { waiting }

    public func request(_ requestId: String) -> Request? { requests[requestId] }

    /// Keeps a waiting request from starting until `release`; the requests behind it may start meanwhile.
    public mutating func hold(_ requestId: String) { held.insert(requestId) }
    public mutating func release(_ requestId: String) { held.remove(requestId) }

    /// Queues a request, or rejects it at once when it could never run: an empty prompt, a prompt
    /// longer than `maxModelLen`, or more tokens than the whole KV cache holds.
    public mutating func addRequest(_ request: Request) throws(VLLMValidationError) {
        if requests[request.requestId] != nil {
            throw .init("A request with id '\(request.requestId)' is already running.", parameter: "request_id")
        }
        if let lora = request.lora, config.maxLoras == 0 {
            throw .init("Got lora_request \(lora.name) but LoRA is not enabled!", parameter: "model")
        }
        let numPromptTokens = request.numPromptTokens
        if numPromptTokens == 0 { throw .init("The decoder prompt cannot be empty", parameter: "prompt") }
        if numPromptTokens > config.maxModelLen {
            throw .init(
                "The decoder prompt (length \(numPromptTokens)) is longer than the maximum model length of "
                    + "\(config.maxModelLen). Make sure that `max_model_len` is no smaller than the number of "
                    + "text tokens.", parameter: "prompt")
        }
        // The last sampled token is never fed back, so it needs no slot.
        let maxTokens = request.maxTokens(maxModelLen: config.maxModelLen)
        let numTokensNeedingSlots = min(numPromptTokens + maxTokens - 1, config.maxModelLen)
        let numBlocksNeeded = ceilDiv(numTokensNeedingSlots, config.blockSize)
        if numBlocksNeeded > kvCacheManager.numUsableBlocks {
            throw .init(
                "The request needs \(numBlocksNeeded) KV cache blocks (\(numTokensNeedingSlots) tokens: "
                    + "\(numPromptTokens) prompt + \(maxTokens) max_tokens - 1, at block size \(config.blockSize)), "
                    + "but the KV cache holds only \(kvCacheManager.numUsableBlocks) blocks "
                    + "(\(kvCacheManager.numUsableBlocks * config.blockSize) tokens). Shorten the prompt, lower "
                    + "max_tokens, or give the KV cache more memory.", parameter: "prompt")
        }
        var request = request
        request.status = .waiting
        requests[request.requestId] = request
        waiting.append(request.requestId)
    }

    /// Plans one step. Running requests are served first, in order; each gets the tokens it still
    /// needs, up to the budget; if the cache cannot hold them, the newest running request is
    /// preempted until it can (possibly this one). Waiting requests follow, first come first
    /// served, unless something was preempted in this step.
    ///
    /// `ahead` (async scheduling): the step before is still running, and a request it samples decodes
    /// again now, its input token being the one that step samples (`ScheduledRequest.pendingTokenId`
    /// marks it; the runner takes it from the device) — unless it cannot grow further (its length limit
    /// reached once that token is in). Without `ahead`, such a request waits for its token.
    public mutating func schedule(ahead: Bool = false) -> SchedulerOutput {
        var budget = config.maxNumBatchedTokens
        var planned: [(requestId: String, numNewTokens: Int, newBlockIds: [Int], isNewOrResumed: Bool)] = []
        var preempted: [String] = []

        var index = 0
        while index < running.count && budget > 0 {
            let requestId = running[index]
            guard var request = requests[requestId] else { preconditionFailure("running request \(requestId) unknown") }
            if request.numPendingTokens > 0 && (!ahead || !canGrow(request)) {
                index += 1
                continue
            }
            // Drafts need the last step's tokens: never when scheduling ahead of a step in flight.
            if ahead { request.specTokenIds = [] }
            let numNewTokens = numTokensToSchedule(request, from: request.numComputedTokens, budget: budget)
            if numNewTokens == 0 {
                index += 1
                continue
            }
            var newBlockIds: [Int]? = nil
            while newBlockIds == nil {
                newBlockIds = kvCacheManager.allocateSlots(&request, numNewTokens: numNewTokens)
                if newBlockIds == nil {
                    let victim = running.removeLast()
                    preempt(victim, updating: &request)
                    preempted.append(victim)
                    if victim == requestId { break }
                }
            }
            requests[requestId] = request
            guard let newBlockIds else { break }
            planned.append((requestId, numNewTokens, newBlockIds, false))
            budget -= numNewTokens
            index += 1
        }

        // At most `maxLoras` adapters among the running requests (vLLM counts those of the step; every running one
        // counts here, so a request left out of this step never brings an extra adapter into the next): a waiting
        // request of another adapter is passed over, keeping its place, and those after it are considered — as is
        // a held one.
        var adapters = Set(running.compactMap { requests[$0]?.lora?.id })
        var position = 0
        while preempted.isEmpty, budget > 0, running.count < config.maxNumSeqs, position < waiting.count {
            let requestId = waiting[position]
            guard var request = requests[requestId] else { preconditionFailure("waiting request \(requestId) unknown") }
            if held.contains(requestId) || (request.lora.map { !adapters.contains($0.id) && adapters.count >= config.maxLoras } ?? false) {
                position += 1
                continue
            }
            let (hitBlockIds, numHitTokens) =
                request.numComputedTokens == 0 ? kvCacheManager.getComputedBlocks(&request) : ([], 0)
            let numComputedTokens = request.numComputedTokens + numHitTokens
            let numNewTokens = numTokensToSchedule(request, from: numComputedTokens, budget: budget)
            guard
                let newBlockIds = kvCacheManager.allocateSlots(
                    &request, numNewTokens: numNewTokens, numNewComputedTokens: numHitTokens,
                    newComputedBlocks: hitBlockIds)
            else {
                requests[requestId] = request
                break
            }
            waiting.remove(at: position)
            running.append(requestId)
            if let lora = request.lora { adapters.insert(lora.id) }
            request.status = .running
            request.numComputedTokens = numComputedTokens
            if request.numCachedTokens == nil { request.numCachedTokens = numHitTokens }
            requests[requestId] = request
            planned.append((requestId, numNewTokens, newBlockIds, true))
            budget -= numNewTokens
        }

        var output = SchedulerOutput(preemptedRequestIds: preempted, finishedRequestIds: finishedRequestIds)
        finishedRequestIds = []
        for plan in planned {
            guard var request = requests[plan.requestId] else { continue }
            let start = request.numComputedTokens
            let end = start + plan.numNewTokens
            let known = min(end, request.numTokens)
            let pendingEnd = min(end, request.numTokensWithPending)
            // Positions past the known tokens hold the token of the step in flight (at most one), then the drafts
            // (as many as the budget left room for).
            let drafts = Array(request.specTokenIds.prefix(end - max(start, pendingEnd)))
            let tokenIds = Array(request.allTokenIds[start..<known])
                + Array(repeating: ScheduledRequest.pendingTokenId, count: max(0, pendingEnd - max(start, known))) + drafts
            let isSampling = end >= request.numTokensWithPending
            var scheduled = ScheduledRequest(
                requestId: plan.requestId, tokenIds: tokenIds,
                numComputedTokens: start, numScheduledTokens: plan.numNewTokens,
                blockIds: kvCacheManager.blockIds(of: plan.requestId), newBlockIds: plan.newBlockIds,
                isSampling: isSampling, numOutputTokens: request.numOutputTokens + request.numPendingTokens,
                isNewOrResumed: plan.isNewOrResumed, sampling: request.samplingInputs)
            scheduled.specTokenIds = drafts
            scheduled.lora = request.lora
            output.scheduledRequests.append(scheduled)
            output.totalNumScheduledTokens += plan.numNewTokens
            request.specTokenIds = []
            // As vLLM: the tokens count as computed once scheduled; the step will write their K/V (the drafts'
            // too: those rejected are taken back in `updateFromOutput`).
            request.numComputedTokens = end
            if isSampling { request.numPendingTokens += 1 }
            requests[plan.requestId] = request
        }
        return output
    }

    /// Proposes `draftTokenIds` for a running request's next step (speculative decoding), cut to `draftRoom`. Ignored
    /// for requests not running or with a token in flight.
    public mutating func setDraftTokens(_ requestId: String, _ draftTokenIds: [Int]) {
        guard let (request, room) = draftRoom(requestId) else { return }
        var updated = request
        updated.specTokenIds = Array(draftTokenIds.prefix(max(0, room)))
        requests[requestId] = updated
    }

    /// The room a draft model's proposals have: how many drafts running request `requestId` may take next step (as
    /// `setDraftTokens` cuts them, at most `k`), and its block ids, grown to hold the K/V of its tokens and those
    /// drafts (`KVCacheManager.reserveSlots`). nil where it cannot speculate now: not running, a token in flight,
    /// no room left, or too few free blocks.
    public mutating func reserveDraftSlots(_ requestId: String, k: Int) -> (numDrafts: Int, blockIds: [Int])? {
        guard let (request, room) = draftRoom(requestId) else { return nil }
        let numDrafts = min(k, room)
        guard numDrafts > 0, let blockIds = kvCacheManager.reserveSlots(requestId, numTokens: request.numTokens + numDrafts) else {
            return nil
        }
        return (numDrafts, blockIds)
    }

    /// A running request with no token in flight, and how many draft tokens it may take: drafts never take it past
    /// `maxModelLen`, nor past its `maxTokens` (the step's last sample is always kept, so at most
    /// `maxTokens − outputs − 1`); nil for any other request.
    private func draftRoom(_ requestId: String) -> (request: Request, room: Int)? {
        guard let request = requests[requestId], request.status == .running, request.numPendingTokens == 0 else { return nil }
        return (request, min(config.maxModelLen - request.numTokens,
                             request.maxTokens(maxModelLen: config.maxModelLen) - request.numOutputTokens - 1))
    }

    /// Ends requests now, wherever they are (abort, or a stop string found by the caller), and
    /// frees their blocks. Unknown or already finished ids are ignored.
    public mutating func finishRequests(
        _ requestIds: [String], reason: FinishReason, stopReason: StopReason? = nil
    ) {
        for requestId in requestIds {
            guard var request = requests[requestId] else { continue }
            request.status = .finished(reason)
            if stopReason != nil { request.stopReason = stopReason }
            retire(request)
        }
    }

    /// Forgets the prefix cache (only when no request holds blocks); returns whether it did.
    public mutating func resetPrefixCache() -> Bool { kvCacheManager.resetPrefixCache() }

    /// Tokens `request` can compute this step starting at `numComputedTokens`: what it still lacks (its draft
    /// tokens included), within the long-prefill threshold, the budget and the model's context.
    private func numTokensToSchedule(_ request: Request, from numComputedTokens: Int, budget: Int) -> Int {
        var count = request.numTokensWithPending + request.specTokenIds.count - numComputedTokens
        if let threshold = config.longPrefillTokenThreshold { count = min(count, threshold) }
        return max(0, min(count, budget, config.maxModelLen - numComputedTokens))
    }

    /// Whether a request whose next token is still being sampled may take another step: its pending
    /// token does not already reach max_tokens or the context length (where it finishes at once).
    private func canGrow(_ request: Request) -> Bool {
        request.numOutputTokens + request.numPendingTokens < request.maxTokens(maxModelLen: config.maxModelLen)
            && request.numTokensWithPending < config.maxModelLen
    }

    /// Frees `requestId`'s blocks and puts it back at the front of the queue, to be recomputed.
    /// `current` is the request being scheduled, held outside the table while it is.
    private mutating func preempt(_ requestId: String, updating current: inout Request) {
        kvCacheManager.free(requestId)
        func reset(_ request: inout Request) {
            request.status = .preempted
            request.numComputedTokens = 0
            request.specTokenIds = []
            request.numPreemptions += 1
        }
        if requestId == current.requestId {
            reset(&current)
        } else if var victim = requests[requestId] {
            reset(&victim)
            requests[requestId] = victim
        }
        numPreemptions += 1
        waiting.insert(requestId, at: 0)
    }

    /// Drops a finished request: frees its blocks and reports it in the next output.
    mutating func retire(_ request: Request) {
        let requestId = request.requestId
        kvCacheManager.free(requestId)
        requests[requestId] = nil
        running.removeAll { $0 == requestId }
        waiting.removeAll { $0 == requestId }
        held.remove(requestId)
        finishedRequestIds.append(requestId)
    }

    mutating func store(_ request: Request) { requests[request.requestId] = request }
}
