import Foundation
import Testing
import VLLMCPU
import VLLMCore
import VLLMEngine
import VLLMModels

/// The online engine: streams, concurrency, cancellation, and no leaked blocks.
@Suite struct AsyncEngineTests {
    func makeEngine(_ name: String = "llama", configure: (inout EngineArgs) -> Void = { _ in }) throws -> (AsyncEngine, EngineParityTests.Golden) {
        let (folder, golden) = try EngineParityTests.load(name)
        var args = EngineArgs(model: folder)
        args.blockSize = 4
        configure(&args)
        return (AsyncEngine(engine: try args.build(backend: CPUBackend()), detokenizer: nil), golden)
    }

    func waitUntilIdle(_ engine: AsyncEngine) async throws {
        for _ in 0..<500 where engine.numInFlight > 0 || engine.stats().numRunning + engine.stats().numWaiting > 0 {
            try await Task.sleep(nanoseconds: 10_000_000)
        }
    }

    @Test func concurrentStreamsGiveTransformersTokens() async throws {
        let (engine, golden) = try makeEngine()
        defer { engine.shutdown() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<32 {
                let prompt = golden.prompts[i % golden.prompts.count]
                group.addTask {
                    var tokens: [Int] = [], finished = false
                    for try await output in try engine.generate(requestId: "r\(i)", promptTokenIds: prompt.prompt_token_ids,
                                                                params: EngineParityTests.greedy(prompt.greedy_token_ids.count)) {
                        tokens += output.outputs[0].deltaTokenIds
                        #expect(output.outputs[0].tokenIds == tokens, "cumulative tokens equal the deltas so far")
                        finished = output.isFinished
                    }
                    #expect(finished)
                    #expect(tokens == prompt.greedy_token_ids, "request \(i)")
                }
            }
            try await group.waitForAll()
        }
        try await waitUntilIdle(engine)
        let stats = engine.stats()
        #expect(stats.numFreeBlocks == stats.numTotalBlocks)
    }

    @Test func cancellingAStreamAbortsAndFreesBlocks() async throws {
        let (engine, golden) = try makeEngine()
        defer { engine.shutdown() }
        var params = EngineParityTests.greedy(10_000)
        params.maxTokens = nil
        let stream = try engine.generate(requestId: "long", promptTokenIds: golden.prompts[2].prompt_token_ids, params: params)
        let task = Task {
            var count = 0
            for try await _ in stream { count += 1; if count == 3 { break } }
        }
        try await task.value
        try await waitUntilIdle(engine)
        let stats = engine.stats()
        #expect(stats.numRunning == 0 && stats.numFreeBlocks == stats.numTotalBlocks)
    }

    @Test func invalidRequestsFailAndTheEngineKeepsServing() async throws {
        let (engine, golden) = try makeEngine { $0.maxModelLen = 64 }
        defer { engine.shutdown() }
        var bad = SamplingParams()
        bad.temperature = -1
        #expect(throws: VLLMValidationError.self) { _ = try engine.generate(requestId: "a", promptTokenIds: [5], params: bad) }
        #expect(throws: VLLMValidationError.self) { _ = try engine.generate(requestId: "b", promptTokenIds: [], params: SamplingParams()) }
        // What needs the vocabulary, worded as vLLM's `verify`: out-of-vocab ids, more logprobs than --max-logprobs.
        let vocab = try ModelConfig.load(modelDirectory: EngineParityTests.load("llama").0).vocabSize
        func refusal(_ change: (inout SamplingParams) -> Void) -> String {
            var params = SamplingParams()
            change(&params)
            do {
                _ = try engine.generate(requestId: "v", promptTokenIds: [5], params: params)
                return "accepted"
            } catch {
                return (error as? VLLMValidationError)?.message ?? "\(error)"
            }
        }
        #expect(refusal { $0.stopTokenIds = [vocab] }
                == "token_id(s) [\(vocab)] in stop_token_ids contain out-of-vocab token ids. Vocabulary size: \(vocab)")
        #expect(refusal { $0.logitBias = [-1: 1] }
                == "token_id(s) [-1] in logit_bias contain out-of-vocab token ids. Vocabulary size: \(vocab)")
        #expect(refusal { $0.allowedTokenIds = [vocab + 5] } == "allowed_token_ids contains out-of-vocab token id!")
        #expect(refusal { $0.logprobs = 21 } == "Requested sample logprobs of 21, which is greater than max allowed: 20")
        #expect(refusal { $0.promptLogprobs = -1 }
                == "Requested prompt logprobs of \(vocab), which is greater than max allowed: 20")
        // Too long for max-model-len: the stream fails with a message naming both numbers.
        do {
            for try await _ in try engine.generate(requestId: "c", promptTokenIds: Array(repeating: 5, count: 100), params: SamplingParams()) {}
            Issue.record("a 100-token prompt passed a 64-token max-model-len")
        } catch {
            #expect("\(error)".contains("100") && "\(error)".contains("64"), "\(error)")
        }
        let prompt = golden.prompts[1]
        var tokens: [Int] = []
        for try await output in try engine.generate(requestId: "d", promptTokenIds: prompt.prompt_token_ids,
                                                    params: EngineParityTests.greedy(prompt.greedy_token_ids.count)) {
            tokens = output.outputs[0].tokenIds
        }
        #expect(tokens == prompt.greedy_token_ids)
    }
}
