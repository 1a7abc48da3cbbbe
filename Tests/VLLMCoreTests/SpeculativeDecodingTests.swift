import Foundation
import Testing

@testable import VLLMCore

/// Speculative decoding in the scheduler: the n-gram drafter against vLLM 0.26.0's own function, and draft tokens
/// scheduled, verified and taken back over a fake model and a fake KV cache that checks every read.
@Suite struct SpeculativeDecodingTests {
    @Test func ngramProposalsMatchVLLMs() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Goldens/ngram.json")
        struct Case: Decodable { var tokens: [Int]; var min: Int; var max: Int; var k: Int; var max_model_len: Int; var proposal: [Int] }
        struct File: Decodable { var cases: [Case] }
        let cases = try JSONDecoder().decode(File.self, from: Data(contentsOf: url)).cases
        #expect(cases.count > 300)
        for c in cases {
            let proposer = NgramProposer(
                config: SpeculativeConfig(numSpeculativeTokens: c.k, promptLookupMin: c.min, promptLookupMax: c.max),
                maxModelLen: c.max_model_len)
            #expect(proposer.propose(c.tokens) == c.proposal, "\(c.tokens) n=\(c.min)…\(c.max) k=\(c.k)")
        }
    }

    /// The fake model: the next token is a function of the last three tokens.
    static func next(_ tokens: [Int]) -> Int { SchedulerTests.fakeNextToken(tokens) }

    /// Runs `prompts` to completion; `drafts(tokens, step)` proposes each request's drafts after every step. Every
    /// step checks that attention reads back exactly the sequence (real tokens, then this step's drafts).
    static func run(
        _ prompts: [[Int]], config: SchedulerConfig, params: SamplingParams, drafts: (([Int], Int) -> [Int])?
    ) -> (outputs: [String: [Int]], scheduler: Scheduler, maxDraftsInAStep: Int) {
        var scheduler = Scheduler(config: config)
        for (i, prompt) in prompts.enumerated() {
            try! scheduler.addRequest(Request(requestId: "r\(i)", promptTokenIds: prompt, samplingParams: params, eosTokenId: 0))
        }
        var kv: [Int: Int] = [:]
        var outputs: [String: [Int]] = [:]
        var step = 0, maxDrafts = 0
        while scheduler.hasUnfinishedRequests && step < 2000 {
            step += 1
            let output = scheduler.schedule()
            let blockSize = config.blockSize
            for s in output.scheduledRequests {
                #expect(s.tokenIds.count == s.numScheduledTokens)
                #expect(Array(s.tokenIds.suffix(s.specTokenIds.count)) == s.specTokenIds)
                for (j, token) in s.tokenIds.enumerated() {
                    let position = s.numComputedTokens + j
                    kv[s.blockIds[position / blockSize] * blockSize + position % blockSize] = token
                }
            }
            var rows: [String: [Int]] = [:]
            for s in output.scheduledRequests {
                guard let request = scheduler.request(s.requestId) else { continue }
                maxDrafts = max(maxDrafts, s.specTokenIds.count)
                let length = s.numComputedTokens + s.numScheduledTokens
                let sequence = request.allTokenIds + s.specTokenIds
                let read = (0..<length).map { kv[s.blockIds[$0 / blockSize] * blockSize + $0 % blockSize] }
                #expect(read == sequence.prefix(length).map { Optional($0) }, "\(s.requestId) step \(step)")
                if s.isSampling {
                    // Row i predicts the token after the real tokens and drafts 0 ..< i.
                    rows[s.requestId] = (0...s.specTokenIds.count).map { next(request.allTokenIds + s.specTokenIds.prefix($0)) }
                }
            }
            for update in scheduler.updateFromOutput(output, sampledTokens: rows) {
                outputs[update.requestId, default: []] += update.newTokenIds
                if update.finishReason == nil, let drafts, let request = scheduler.request(update.requestId) {
                    scheduler.setDraftTokens(update.requestId, drafts(request.allTokenIds, step))
                }
            }
        }
        #expect(!scheduler.hasUnfinishedRequests)
        return (outputs, scheduler, maxDrafts)
    }

    static let config = SchedulerConfig(maxNumBatchedTokens: 64, maxNumSeqs: 8, maxModelLen: 200, blockSize: 4, numGPUBlocks: 400)

    /// Drafts that are right for a while and then wrong: each step proposes the model's true next tokens for the first
    /// `step % 4` positions and a wrong one after.
    static func mixedDrafts(_ tokens: [Int], _ step: Int) -> [Int] {
        var drafts: [Int] = [], sequence = tokens
        for i in 0..<4 {
            let right = next(sequence)
            let token = i < step % 4 ? right : (right % 50) + 1  // never the model's token
            drafts.append(token)
            sequence.append(token)
        }
        return drafts
    }

    @Test func verifiedDraftsGiveTheSameTokensAsPlainDecoding() {
        var params = SamplingParams()
        params.maxTokens = 37
        params.ignoreEos = true
        let prompts = (0..<6).map { i in (0..<(3 + 5 * i)).map { 1 + ($0 * 7 + i) % 40 } }
        let plain = Self.run(prompts, config: Self.config, params: params, drafts: nil)
        let speculated = Self.run(prompts, config: Self.config, params: params, drafts: Self.mixedDrafts)
        #expect(speculated.outputs == plain.outputs)
        #expect(speculated.outputs.values.allSatisfy { $0.count == 37 })
        #expect(speculated.maxDraftsInAStep == 4)
        let stats = speculated.scheduler.specDecodingStats
        #expect(stats.numDrafts > 0 && stats.numAcceptedTokens > 0 && stats.numAcceptedTokens < stats.numDraftTokens)
        #expect(stats.numAcceptedTokensPerPosition.count == 4)
        #expect(stats.numAcceptedTokensPerPosition.reduce(0, +) == stats.numAcceptedTokens)
        #expect(zip(stats.numAcceptedTokensPerPosition, stats.numAcceptedTokensPerPosition.dropFirst()).allSatisfy { $0 >= $1 })
        #expect(speculated.scheduler.kvCacheManager.blockPool.numFreeBlocks == Self.config.numGPUBlocks - 1, "no block leaked")
    }

    @Test func draftsNeverPassMaxTokensOrTheContext() {
        var params = SamplingParams()
        params.maxTokens = 10
        params.ignoreEos = true
        // Perfect drafts of 8: a request must still stop at exactly 10 tokens.
        let perfect: ([Int], Int) -> [Int] = { tokens, _ in
            var sequence = tokens
            return (0..<8).map { _ in
                let token = Self.next(sequence)
                sequence.append(token)
                return token
            }
        }
        let run = Self.run([[1, 2, 3], [4, 5, 6, 7, 8]], config: Self.config, params: params, drafts: perfect)
        #expect(run.outputs.values.allSatisfy { $0.count == 10 })
        var scheduler = Scheduler(config: SchedulerConfig(maxNumBatchedTokens: 64, maxNumSeqs: 8, maxModelLen: 12, blockSize: 4, numGPUBlocks: 40))
        try! scheduler.addRequest(Request(requestId: "a", promptTokenIds: Array(1...9), samplingParams: SamplingParams(), eosTokenId: 0))
        let first = scheduler.schedule()
        _ = scheduler.updateFromOutput(first, sampledTokens: ["a": [5]])
        scheduler.setDraftTokens("a", [1, 2, 3, 4, 5])
        #expect(scheduler.request("a")?.specTokenIds == [1, 2], "10 tokens, context 12: two drafts fit")
    }

    @Test func aStopTokenAmongAcceptedDraftsEndsTheRequestThere() {
        var params = SamplingParams()
        params.maxTokens = 50
        params.stopTokenIds = [99]
        var scheduler = Scheduler(config: Self.config)
        try! scheduler.addRequest(Request(requestId: "a", promptTokenIds: [1, 2, 3], samplingParams: params, eosTokenId: 0))
        _ = scheduler.updateFromOutput(scheduler.schedule(), sampledTokens: ["a": [7]])
        scheduler.setDraftTokens("a", [8, 99, 10])
        let step = scheduler.schedule()
        #expect(step.scheduledRequests[0].tokenIds == [7, 8, 99, 10])
        let updates = scheduler.updateFromOutput(step, sampledTokens: ["a": [8, 99, 10, 11]])
        #expect(updates[0].newTokenIds == [8, 99])
        #expect(updates[0].finishReason == .stop && updates[0].stopReason == .tokenId(99))
        #expect(scheduler.kvCacheManager.blockPool.numFreeBlocks == Self.config.numGPUBlocks - 1)
    }

    @Test func rejectedDraftsGiveBackTheirPositions() {
        var scheduler = Scheduler(config: Self.config)
        var params = SamplingParams()
        params.maxTokens = 50
        try! scheduler.addRequest(Request(requestId: "a", promptTokenIds: [1, 2, 3], samplingParams: params, eosTokenId: 0))
        _ = scheduler.updateFromOutput(scheduler.schedule(), sampledTokens: ["a": [7]])
        scheduler.setDraftTokens("a", [8, 9, 10])
        let step = scheduler.schedule()
        #expect(step.scheduledRequests[0].numScheduledTokens == 4 && step.scheduledRequests[0].numComputedTokens == 3)
        // Draft 8 accepted, 9 rejected (the model said 12): tokens 8, 12; K/V valid through 8's position.
        let updates = scheduler.updateFromOutput(step, sampledTokens: ["a": [8, 12, 30, 31]])
        #expect(updates[0].newTokenIds == [8, 12])
        let request = scheduler.request("a")!
        #expect(request.allTokenIds == [1, 2, 3, 7, 8, 12])
        #expect(request.numComputedTokens == 5)
        #expect(scheduler.specDecodingStats == {
            var s = SpecDecodingStats()
            s.numDrafts = 1; s.numDraftTokens = 3; s.numAcceptedTokens = 1; s.numAcceptedTokensPerPosition = [1, 0, 0]
            return s
        }())
        let next = scheduler.schedule()
        #expect(next.scheduledRequests[0].tokenIds == [12] && next.scheduledRequests[0].numComputedTokens == 5)
    }
}
