import Testing

@testable import VLLMCore

/// The scheduler driven by a fake model whose next token depends only on the tokens so far, over
/// a fake KV cache that checks every block table reads back exactly the sequence's tokens.
@Suite struct SchedulerTests {
    static let eos = 0

    /// Next token of a sequence: a function of its last tokens, never EOS.
    static func fakeNextToken(_ tokens: [Int]) -> Int {
        var h = 17
        for t in tokens.suffix(3) { h = (h &* 31 &+ t) % 1_000_003 }
        return 1 + h % 50
    }

    /// Runs steps until nothing is left; returns each finished request's output and reason.
    struct Harness {
        var scheduler: Scheduler
        /// slot → token id written there, the fake KV cache.
        var kvCache: [Int: Int] = [:]
        var outputs: [String: [Int]] = [:]
        var finished: [String: FinishReason] = [:]
        var steps: [SchedulerOutput] = []
        var nextToken: ([Int]) -> Int = SchedulerTests.fakeNextToken

        init(_ config: SchedulerConfig) { scheduler = Scheduler(config: config) }

        mutating func add(_ id: String, _ prompt: [Int], _ params: SamplingParams = .init()) throws {
            try scheduler.addRequest(
                Request(requestId: id, promptTokenIds: prompt, samplingParams: params, eosTokenId: SchedulerTests.eos))
        }

        @discardableResult
        mutating func step() -> [EngineCoreOutput] {
            let output = scheduler.schedule()
            steps.append(output)
            let blockSize = scheduler.config.blockSize
            #expect(output.totalNumScheduledTokens <= scheduler.config.maxNumBatchedTokens)
            #expect(output.scheduledRequests.count <= scheduler.config.maxNumSeqs)
            // Write every fed token's K/V first (siblings may read each other's blocks in a step).
            for s in output.scheduledRequests {
                #expect(s.tokenIds.count == s.numScheduledTokens)
                for (i, token) in s.tokenIds.enumerated() {
                    let position = s.numComputedTokens + i
                    kvCache[s.blockIds[position / blockSize] * blockSize + position % blockSize] = token
                }
            }
            var sampled: [String: Int] = [:]
            for s in output.scheduledRequests {
                guard let request = scheduler.request(s.requestId) else { continue }
                let length = s.numComputedTokens + s.numScheduledTokens
                // Attention reads every position through the block table: it must be this sequence.
                let read = (0..<length).map { kvCache[s.blockIds[$0 / blockSize] * blockSize + $0 % blockSize] }
                #expect(read == request.allTokenIds.prefix(length).map { Optional($0) }, "\(s.requestId)")
                #expect(!s.blockIds.contains(BlockPool.nullBlockId))
                if s.isSampling { sampled[s.requestId] = nextToken(request.allTokenIds) }
            }
            let results = scheduler.updateFromOutput(output, sampledTokenIds: sampled)
            for r in results {
                outputs[r.requestId, default: []] += r.newTokenIds
                if let reason = r.finishReason { finished[r.requestId] = reason }
            }
            return results
        }

        mutating func runToCompletion(maxSteps: Int = 10_000) {
            var count = 0
            while scheduler.hasUnfinishedRequests && count < maxSteps {
                step()
                count += 1
            }
            #expect(!scheduler.hasUnfinishedRequests, "did not finish in \(maxSteps) steps")
        }

        /// Every usable block free, unreferenced and in the free queue.
        func expectNoLeaks() {
            let pool = scheduler.kvCacheManager.blockPool
            #expect(pool.numFreeBlocks == pool.numGPUBlocks - 1)
            #expect(pool.blocks.allSatisfy { $0.refCount == 0 })
            #expect(Set(pool.freeBlockQueue.blockIds) == Set(1..<pool.numGPUBlocks))
        }
    }

    func params(maxTokens: Int?, ignoreEos: Bool = false) -> SamplingParams {
        var p = SamplingParams()
        p.maxTokens = maxTokens
        p.ignoreEos = ignoreEos
        return p
    }

    /// Async scheduling: with a step in flight, a request it samples decodes again with a placeholder
    /// input (its pending token counted in its length and output index); one whose pending token is its
    /// last (max_tokens) waits; without `ahead` nothing is scheduled until the tokens are back, and then
    /// every request holds them in order.
    @Test func schedulingAheadFeedsPendingTokens() throws {
        var scheduler = Scheduler(config: SchedulerConfig(maxNumBatchedTokens: 64, maxNumSeqs: 8, maxModelLen: 64,
                                                          blockSize: 4, numGPUBlocks: 64))
        var one = SamplingParams()
        one.maxTokens = 1
        try scheduler.addRequest(Request(requestId: "a", promptTokenIds: [1, 2, 3, 4, 5]))
        try scheduler.addRequest(Request(requestId: "b", promptTokenIds: [6, 7, 8], samplingParams: one))
        let first = scheduler.schedule()
        #expect(first.scheduledRequests.map(\.isSampling) == [true, true])
        let second = scheduler.schedule(ahead: true)
        #expect(second.scheduledRequests.map(\.requestId) == ["a"])
        let a = try #require(second.scheduledRequests.first)
        #expect(a.tokenIds == [ScheduledRequest.pendingTokenId] && a.numComputedTokens == 5 && a.numOutputTokens == 1)
        #expect(a.isSampling && a.blockIds.count == 2)
        #expect(scheduler.schedule().isEmpty)
        _ = scheduler.updateFromOutput(first, sampledTokenIds: ["a": 9, "b": 10])
        #expect(scheduler.request("b") == nil, "b finished at max_tokens")
        _ = scheduler.updateFromOutput(second, sampledTokenIds: ["a": 11])
        #expect(scheduler.request("a")?.allTokenIds == [1, 2, 3, 4, 5, 9, 11])
        #expect(scheduler.request("a")?.numPendingTokens == 0)
        let third = scheduler.schedule()
        #expect(third.scheduledRequests.first?.tokenIds == [11] && third.scheduledRequests.first?.numComputedTokens == 6)
    }

    /// A held request (its grammar still being prepared) keeps its place while those behind it start; once
    /// released it runs to the same tokens, and an aborted held request leaves nothing behind.
    @Test func aHeldRequestIsPassedOverUntilReleased() throws {
        var harness = Harness(
            SchedulerConfig(maxNumBatchedTokens: 64, maxNumSeqs: 8, maxModelLen: 64, blockSize: 4, numGPUBlocks: 40))
        try harness.add("held", [5, 6, 7], params(maxTokens: 4))
        try harness.add("free", [8, 9], params(maxTokens: 4))
        try harness.add("dropped", [3, 4], params(maxTokens: 4))
        harness.scheduler.hold("held")
        harness.scheduler.hold("dropped")
        harness.step()
        #expect(harness.steps[0].scheduledRequests.map(\.requestId) == ["free"])
        #expect(harness.scheduler.waitingRequestIds == ["held", "dropped"])
        harness.scheduler.finishRequests(["dropped"], reason: .abort)
        harness.scheduler.release("held")
        harness.step()
        #expect(harness.steps[1].scheduledRequests.map(\.requestId) == ["free", "held"])
        harness.runToCompletion()
        var tokens = [5, 6, 7]
        for _ in 0..<4 { tokens.append(Self.fakeNextToken(tokens)) }
        #expect(harness.outputs["held"] == Array(tokens.suffix(4)))
        #expect(harness.finished["dropped"] == nil && harness.outputs["dropped"] == nil)
        harness.expectNoLeaks()
    }

    @Test func chunkedPrefillWithA16TokenBudget() throws {
        var h = Harness(
            SchedulerConfig(maxNumBatchedTokens: 16, maxNumSeqs: 8, maxModelLen: 64, blockSize: 4, numGPUBlocks: 20))
        try h.add("a", Array(100..<120), params(maxTokens: 3))
        try h.add("b", Array(200..<210), params(maxTokens: 3))

        h.step()
        let s1 = h.steps[0].scheduledRequests
        #expect(s1.map(\.requestId) == ["a"])
        #expect(s1[0].numScheduledTokens == 16 && !s1[0].isSampling && s1[0].numComputedTokens == 0)
        #expect(s1[0].tokenIds == Array(100..<116))
        #expect(s1[0].blockIds == [1, 2, 3, 4] && s1[0].isNewOrResumed)
        #expect(h.outputs.isEmpty)

        h.step()
        let s2 = h.steps[1].scheduledRequests
        #expect(s2.map(\.requestId) == ["a", "b"])
        #expect(s2[0].numComputedTokens == 16 && s2[0].numScheduledTokens == 4 && s2[0].isSampling)
        #expect(s2[0].blockIds == [1, 2, 3, 4, 5] && s2[0].newBlockIds == [5] && !s2[0].isNewOrResumed)
        #expect(s2[1].numScheduledTokens == 10 && s2[1].isSampling && s2[1].blockIds == [6, 7, 8])
        #expect(h.steps[1].totalNumScheduledTokens == 14)

        // Decodes: one token each, fed from the last sampled token.
        h.step()
        let s3 = h.steps[2].scheduledRequests
        #expect(s3.map(\.numScheduledTokens) == [1, 1])
        #expect(s3[0].tokenIds == [h.outputs["a"]![0]] && s3[0].numComputedTokens == 20 && s3[0].numOutputTokens == 1)
        h.runToCompletion()
        #expect(h.outputs["a"]?.count == 3 && h.finished["a"] == .length)
        #expect(h.outputs["b"]?.count == 3 && h.finished["b"] == .length)
        h.expectNoLeaks()
    }

    @Test func longPrefillThresholdLimitsAChunk() throws {
        var h = Harness(
            SchedulerConfig(
                maxNumBatchedTokens: 16, maxNumSeqs: 8, maxModelLen: 64, blockSize: 4, numGPUBlocks: 20,
                longPrefillTokenThreshold: 6))
        try h.add("a", Array(100..<120), params(maxTokens: 1))
        try h.add("b", Array(200..<204), params(maxTokens: 1))
        h.step()
        #expect(h.steps[0].scheduledRequests.map(\.numScheduledTokens) == [6, 4])
    }

    @Test func preemptsTheNewestRequestWhenBlocksRunOut() throws {
        // 4 usable blocks of 4 tokens; two requests of 7 prompt tokens fill them after one decode.
        let config = SchedulerConfig(
            maxNumBatchedTokens: 64, maxNumSeqs: 8, maxModelLen: 32, blockSize: 4, numGPUBlocks: 5)
        var h = Harness(config)
        try h.add("old", Array(10..<17), params(maxTokens: 6, ignoreEos: true))
        try h.add("new", Array(30..<37), params(maxTokens: 6, ignoreEos: true))
        h.step()  // both prompts: 2 blocks each
        #expect(h.scheduler.kvCacheManager.numFreeBlocks == 0)
        h.step()  // position 7 still fits in each second block
        #expect(h.scheduler.numPreemptions == 0)
        h.step()  // "old" needs a third block: "new" is preempted
        let third = h.steps[2]
        #expect(third.preemptedRequestIds == ["new"])
        #expect(third.scheduledRequests.map(\.requestId) == ["old"])
        #expect(h.scheduler.numPreemptions == 1)
        #expect(h.scheduler.request("new")?.status == .preempted)
        #expect(h.scheduler.request("new")?.numComputedTokens == 0)
        #expect(h.scheduler.waitingRequestIds == ["new"])
        h.runToCompletion()
        #expect(h.scheduler.request("new") == nil)

        // The outputs are the ones a cache large enough for both gives.
        var big = Harness(
            SchedulerConfig(maxNumBatchedTokens: 64, maxNumSeqs: 8, maxModelLen: 32, blockSize: 4, numGPUBlocks: 64))
        try big.add("old", Array(10..<17), params(maxTokens: 6, ignoreEos: true))
        try big.add("new", Array(30..<37), params(maxTokens: 6, ignoreEos: true))
        big.runToCompletion()
        #expect(h.outputs == big.outputs)
        #expect(big.scheduler.numPreemptions == 0)
        h.expectNoLeaks()
    }

    @Test func noLeaksAfterAnyMixOfFinishAbortAndPreempt() throws {
        var rng = SplitMix(seed: 3)
        var numPreemptions = 0
        var numHits = 0
        var numAborted = 0
        for trial in 0..<30 {
            let caching = trial % 3 != 0
            let config = SchedulerConfig(
                maxNumBatchedTokens: [8, 16, 32][trial % 3], maxNumSeqs: [2, 4, 8][rng.int(3)], maxModelLen: 40,
                blockSize: [2, 4][rng.int(2)], numGPUBlocks: 21, enablePrefixCaching: caching)
            var h = Harness(config)
            var reference = Harness(
                SchedulerConfig(
                    maxNumBatchedTokens: 1000, maxNumSeqs: 100, maxModelLen: 40, blockSize: 4, numGPUBlocks: 1000))
            let shared = (0..<8).map { _ in rng.int(90) + 10 }
            var aborted: Set<String> = []
            var ids: [String] = []
            for step in 0..<200 {
                if step < 40 && rng.int(3) == 0 {
                    let id = "r\(ids.count)"
                    // Some prompts share a prefix, so blocks are shared and hit.
                    let prompt = (rng.int(2) == 0 ? shared : []) + (0..<(1 + rng.int(12))).map { _ in rng.int(90) + 10 }
                    var p = params(maxTokens: 1 + rng.int(12), ignoreEos: true)
                    if rng.int(4) == 0 { p.maxTokens = nil }
                    try h.add(id, prompt, p)
                    try reference.add(id, prompt, p)
                    ids.append(id)
                }
                if rng.int(10) == 0, let victim = ids.randomElement(using: &rng) {
                    h.scheduler.finishRequests([victim], reason: .abort)
                    aborted.insert(victim)
                }
                h.step()
            }
            h.runToCompletion()
            reference.runToCompletion()
            numPreemptions += h.scheduler.numPreemptions
            numHits += h.scheduler.prefixCacheStats.hits
            numAborted += aborted.count
            h.expectNoLeaks()
            #expect(h.scheduler.numRunning == 0 && h.scheduler.numWaiting == 0)
            // Whatever was preempted, requests that were never aborted produced the reference outputs.
            for id in ids where !aborted.contains(id) {
                #expect(h.outputs[id] == reference.outputs[id], "trial \(trial) \(id)")
                #expect(h.finished[id] == reference.finished[id])
            }
        }
        // The mix really had all three.
        #expect(numPreemptions > 20 && numHits > 0 && numAborted > 20, "\(numPreemptions) \(numHits) \(numAborted)")
    }

    @Test func rejectsWhatCanNeverRun() throws {
        var s = Scheduler(config: SchedulerConfig(maxModelLen: 32, blockSize: 4, numGPUBlocks: 5))
        #expect(throws: VLLMValidationError("The decoder prompt cannot be empty", parameter: "prompt")) {
            try s.addRequest(Request(requestId: "e", promptTokenIds: []))
        }
        #expect(
            throws: VLLMValidationError(
                "The decoder prompt (length 33) is longer than the maximum model length of 32. Make sure that "
                    + "`max_model_len` is no smaller than the number of text tokens.", parameter: "prompt")
        ) {
            try s.addRequest(Request(requestId: "long", promptTokenIds: Array(0..<33)))
        }
        // 4 usable blocks hold 16 tokens: 10 + 8 - 1 = 17 do not fit.
        var p = SamplingParams()
        p.maxTokens = 8
        do {
            try s.addRequest(Request(requestId: "big", promptTokenIds: Array(0..<10), samplingParams: p))
            Issue.record("accepted a request larger than the cache")
        } catch {
            #expect(error.message.contains("needs 5 KV cache blocks"))
            #expect(error.message.contains("holds only 4 blocks (16 tokens)"))
        }
        p.maxTokens = 7
        try s.addRequest(Request(requestId: "fits", promptTokenIds: Array(0..<10), samplingParams: p))
        #expect(throws: VLLMValidationError.self) {
            try s.addRequest(Request(requestId: "fits", promptTokenIds: [1]))
        }
        #expect(s.numWaiting == 1)
    }

    @Test func stopConditions() throws {
        let config = SchedulerConfig(
            maxNumBatchedTokens: 64, maxNumSeqs: 8, maxModelLen: 12, blockSize: 4, numGPUBlocks: 32)
        var h = Harness(config)
        // The fake model emits EOS as its third token, and 7 as its fifth.
        h.nextToken = { tokens in
            let generated = tokens.count - 4
            return generated == 2 ? SchedulerTests.eos : generated == 4 ? 7 : 5
        }
        try h.add("eos", [1, 2, 3, 4], params(maxTokens: 10))
        try h.add("ignore", [1, 2, 3, 4], params(maxTokens: 4, ignoreEos: true))
        var stopToken = params(maxTokens: 10, ignoreEos: true)
        stopToken.stopTokenIds = [7]
        try h.add("stopToken", [1, 2, 3, 4], stopToken)
        var minTokens = params(maxTokens: 10)
        minTokens.minTokens = 4
        minTokens.stopTokenIds = [7]
        try h.add("minTokens", [1, 2, 3, 4], minTokens)
        try h.add("modelLen", [1, 2, 3, 4], params(maxTokens: nil, ignoreEos: true))
        h.runToCompletion()

        #expect(h.outputs["eos"] == [5, 5, 0] && h.finished["eos"] == .stop)
        #expect(h.outputs["ignore"] == [5, 5, 0, 5] && h.finished["ignore"] == .length)
        #expect(h.outputs["stopToken"] == [5, 5, 0, 5, 7] && h.finished["stopToken"] == .stop)
        // EOS at the third token is ignored below min_tokens; the stop token at the fifth is not.
        #expect(h.outputs["minTokens"] == [5, 5, 0, 5, 7] && h.finished["minTokens"] == .stop)
        // No max_tokens: up to max_model_len tokens in all.
        #expect(h.outputs["modelLen"]?.count == 8 && h.finished["modelLen"] == .length)
        h.expectNoLeaks()
    }

    @Test func stopReasonIsReported() throws {
        var s = Scheduler(config: SchedulerConfig(maxModelLen: 64, blockSize: 4, numGPUBlocks: 16))
        var p = SamplingParams()
        p.stopTokenIds = [9]
        try s.addRequest(Request(requestId: "a", promptTokenIds: [1, 2, 3], samplingParams: p, eosTokenId: 0))
        let out = s.schedule()
        let results = s.updateFromOutput(out, sampledTokenIds: ["a": 9])
        #expect(
            results == [
                EngineCoreOutput(requestId: "a", newTokenIds: [9], finishReason: .stop, stopReason: .tokenId(9))
            ])
        #expect(s.schedule().finishedRequestIds == ["a"])
    }

    @Test func abortAtAnyTimeFreesEverything() throws {
        let config = SchedulerConfig(
            maxNumBatchedTokens: 8, maxNumSeqs: 8, maxModelLen: 64, blockSize: 4, numGPUBlocks: 9)
        var h = Harness(config)
        try h.add("chunked", Array(0..<20), params(maxTokens: 5))
        try h.add("waiting", Array(50..<60), params(maxTokens: 5))
        h.step()  // "chunked" is mid-prompt
        #expect(h.scheduler.numRunning == 1 && h.scheduler.numWaiting == 1)
        h.scheduler.finishRequests(["chunked", "waiting", "unknown"], reason: .abort)
        #expect(h.scheduler.numRunning == 0 && h.scheduler.numWaiting == 0)
        h.expectNoLeaks()
        let next = h.scheduler.schedule()
        #expect(next.isEmpty && next.finishedRequestIds == ["chunked", "waiting"])

        // Aborted between schedule() and updateFromOutput(): its sampled token is dropped.
        try h.add("late", Array(0..<3), params(maxTokens: 5))
        let out = h.scheduler.schedule()
        h.scheduler.finishRequests(["late"], reason: .abort)
        #expect(h.scheduler.updateFromOutput(out, sampledTokenIds: ["late": 4]).isEmpty)
        h.expectNoLeaks()
    }

    @Test func siblingsShareThePromptBlocks() throws {
        // n = 2 expanded by the caller: the second child hits the first one's full prompt blocks
        // in the same step, while they are being computed.
        var h = Harness(
            SchedulerConfig(maxNumBatchedTokens: 64, maxNumSeqs: 8, maxModelLen: 64, blockSize: 4, numGPUBlocks: 16))
        let prompt = Array(10..<20)  // 2 full blocks + 2 tokens
        try h.add("p-0", prompt, params(maxTokens: 3))
        try h.add("p-1", prompt, params(maxTokens: 3))
        h.step()
        let s = h.steps[0].scheduledRequests
        #expect(s[0].blockIds == [1, 2, 3])
        #expect(s[1].blockIds == [1, 2, 4] && s[1].numComputedTokens == 8 && s[1].numScheduledTokens == 2)
        #expect(h.scheduler.request("p-1")?.numCachedTokens == 8)
        #expect(h.scheduler.kvCacheManager.blockPool.blocks[1].refCount == 2)
        h.runToCompletion()
        h.expectNoLeaks()
        #expect(h.scheduler.prefixCacheStats.hits == 8)
    }

    @Test func maxNumSeqsLimitsAdmission() throws {
        var h = Harness(
            SchedulerConfig(maxNumBatchedTokens: 64, maxNumSeqs: 2, maxModelLen: 64, blockSize: 4, numGPUBlocks: 32))
        for i in 0..<3 { try h.add("r\(i)", [1, 2, 3 + i], params(maxTokens: 2)) }
        h.step()
        #expect(h.steps[0].scheduledRequests.map(\.requestId) == ["r0", "r1"])
        #expect(h.scheduler.numWaiting == 1)
        h.runToCompletion()
        #expect(h.finished.count == 3)
        h.expectNoLeaks()
    }

    @Test func aRequestAsLongAsTheContextGetsOneToken() throws {
        var h = Harness(
            SchedulerConfig(maxNumBatchedTokens: 64, maxNumSeqs: 2, maxModelLen: 8, blockSize: 4, numGPUBlocks: 8))
        try h.add("full", Array(1...8), params(maxTokens: 5))
        h.runToCompletion()
        #expect(h.outputs["full"]?.count == 1 && h.finished["full"] == .length)
    }
}

/// SplitMix64, for reproducible random workloads.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func int(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}
