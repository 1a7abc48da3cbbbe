import Foundation
import Testing
import VLLMCPU
import VLLMCompute
import VLLMCore
@testable import VLLMEngine

/// Sampling through the whole engine: seeds, logprobs, n, stop tokens.
@Suite struct SamplingEngineTests {
    struct LogitsGolden: Decodable {
        struct Prompt: Decodable { var prompt_token_ids: [Int]; var last_logits: [Float] }
        var prompts: [Prompt]
    }

    func llm(_ name: String = "llama", async: Bool = true) throws -> LLM {
        var args = EngineArgs(model: EngineParityTests.goldens.appendingPathComponent(name))
        args.blockSize = 4
        args.asyncScheduling = async
        return try LLM(args: args, backend: CPUBackend())
    }

    /// Async scheduling (a step ahead of the device, each decode's input read from the step in flight)
    /// changes nothing a request sees — seeded draws, logprobs, min_tokens, stop tokens, n, prompt
    /// logprobs, and penalties (whose steps it collects before scheduling the next) — and leaks no block.
    @Test func asyncSchedulingChangesNoOutput() throws {
        let (_, golden) = try EngineParityTests.load("llama")
        var prompts: [[Int]] = [], params: [SamplingParams] = []
        for (i, prompt) in golden.prompts.enumerated() {
            var p = seeded(100 + i)
            p.maxTokens = 6 + 5 * i
            p.logprobs = 2
            prompts.append(prompt.prompt_token_ids)
            params.append(p)
            var q = seeded(200 + i)
            q.minTokens = 3
            q.ignoreEos = false
            q.stopTokenIds = [7, 11, 13]
            q.n = 2
            q.promptLogprobs = i == 1 ? 3 : nil
            q.presencePenalty = i == 2 ? 0.5 : 0
            prompts.append(prompt.prompt_token_ids)
            params.append(q)
        }
        let sync = try llm(async: false).generate(prompts, params: params)
        let asyncLLM = try llm(async: true)
        let async = try asyncLLM.generate(prompts, params: params)
        for (a, b) in zip(async, sync) {
            #expect(a.outputs.map(\.tokenIds) == b.outputs.map(\.tokenIds))
            #expect(a.outputs.map(\.logprobs) == b.outputs.map(\.logprobs))
            #expect(a.outputs.map(\.finishReason) == b.outputs.map(\.finishReason))
            #expect(a.promptLogprobs == b.promptLogprobs)
        }
        let stats = asyncLLM.core.stats()
        #expect(stats.numFreeBlocks == stats.numTotalBlocks)
    }

    /// A decode step run as a CUDA graph is padded to a capture size and a block-table width; the padding
    /// (rows feeding token 0 with one key and no cache write) changes nothing a request sees. Checked on
    /// the CPU by padding every decode step as a graph would and running it eagerly.
    @Test func decodeGraphPaddingChangesNoOutput() throws {
        let (_, golden) = try EngineParityTests.load("llama")
        var prompts: [[Int]] = [], params: [SamplingParams] = []
        for (i, prompt) in golden.prompts.enumerated() {
            for n in 0..<3 {
                var p = seeded(300 + 10 * i + n)
                p.maxTokens = 5 + 7 * n + i
                p.logprobs = 2
                prompts.append(prompt.prompt_token_ids)
                params.append(p)
            }
        }
        let plain = try llm().generate(prompts, params: params)
        let padded = try llm()
        let runner = padded.core.runner
        runner.graphs = DecodeGraphs(backend: runner.model.backend, enabled: false, padsOnly: true,
                                     blockSize: runner.blockSize, maxRows: runner.maxNumSeqs)
        let outputs = try padded.generate(prompts, params: params)
        // The CPU's GEMM blocks rows differently for another row count, so logprobs agree to rounding.
        for (a, b) in zip(outputs, plain) {
            #expect(a.outputs.map(\.tokenIds) == b.outputs.map(\.tokenIds))
            let (x, y) = (a.outputs[0].logprobs ?? [], b.outputs[0].logprobs ?? [])
            #expect(x.count == y.count)
            for (p, q) in zip(x, y) {
                #expect(abs(p.sampledLogprob - q.sampledLogprob) < 1e-5 && p.sampledRank == q.sampledRank)
                #expect(p.top.map(\.tokenId) == q.top.map(\.tokenId))
            }
        }
        #expect(runner.graphs.paddedSteps > 0)
        let stats = padded.core.stats()
        #expect(stats.numFreeBlocks == stats.numTotalBlocks)
    }

    /// A caller may hand the runner more blocks than a sequence's context covers (check-gpu's greedy loop
    /// gives every block the whole story will need): the padded block table cuts them to its width.
    @Test func decodeGraphPaddingTakesLongBlockLists() throws {
        let runner = try llm().core.runner
        func greedy(padded: Bool) throws -> [Int32] {
            runner.graphs = DecodeGraphs(backend: runner.model.backend, enabled: false, padsOnly: padded,
                                         blockSize: runner.blockSize, maxRows: runner.maxNumSeqs)
            var row = SamplingRow()
            row.temperature = 0
            let blocks = (1...100).map(Int32.init)  // 400 slots; a graph's narrowest table holds 64 blocks
            var tokens: [Int32] = [1, 5, 9]
            var next = try runner.execute([StepSequence(tokenIds: tokens, numComputedTokens: 0, blockIds: blocks, sampling: row)])
            for _ in 0..<16 {
                tokens.append(next.tokenIds[0])
                next = try runner.execute([StepSequence(tokenIds: [tokens.last!], numComputedTokens: tokens.count - 1,
                                                        blockIds: blocks, sampling: row)])
            }
            return tokens
        }
        let plain = try greedy(padded: false)
        #expect(try greedy(padded: true) == plain)
        #expect(runner.graphs.paddedSteps == 16)
    }

    func seeded(_ seed: Int) -> SamplingParams {
        var p = SamplingParams()
        p.temperature = 0.9
        p.topP = 0.9
        p.topK = 40
        p.seed = seed
        p.maxTokens = 16
        p.ignoreEos = true
        return p
    }

    /// A seeded request samples the same tokens alone or inside any batch.
    @Test func seededSamplingIsIndependentOfTheBatch() throws {
        let (_, golden) = try EngineParityTests.load("llama")
        let prompt = golden.prompts[2].prompt_token_ids
        let alone = try llm().generate([prompt], params: [seeded(1234)])[0].outputs[0].tokenIds
        let others = golden.prompts.map(\.prompt_token_ids)
        let batch = try llm().generate(others + [prompt] + others, params: others.map { _ in seeded(7) } + [seeded(1234)] + others.map { _ in seeded(99) })
        #expect(batch[others.count].outputs[0].tokenIds == alone)
        let otherSeed = try llm().generate([prompt], params: [seeded(4321)])[0].outputs[0].tokenIds
        #expect(otherSeed != alone, "a different seed should draw differently")
    }

    /// Logprobs of the first generated token equal log_softmax of transformers' logits.
    @Test func logprobsAreLogSoftmaxOfTransformersLogits() throws {
        let url = EngineParityTests.goldens.appendingPathComponent("qwen2/golden.json")
        let golden = try JSONDecoder().decode(LogitsGolden.self, from: Data(contentsOf: url))
        for prompt in golden.prompts {
            var p = SamplingParams()
            p.temperature = 0
            p.maxTokens = 1
            p.logprobs = 5
            let output = try llm("qwen2").generate([prompt.prompt_token_ids], params: [p])[0].outputs[0]
            let lp = try #require(output.logprobs?.first)
            let maxLogit = prompt.last_logits.max()!
            let logSum = log(prompt.last_logits.map { exp(Double($0 - maxLogit)) }.reduce(0, +)) + Double(maxLogit)
            let expected = prompt.last_logits.map { Double($0) - logSum }
            let order = expected.indices.sorted { expected[$0] > expected[$1] || (expected[$0] == expected[$1] && $0 < $1) }
            #expect(lp.top.count == 5)
            for (k, entry) in lp.top.enumerated() {
                #expect(Int(entry.tokenId) == order[k])
                #expect(abs(Double(entry.logprob) - expected[order[k]]) < 1e-4)
            }
            #expect(abs(Double(lp.sampledLogprob) - expected[output.tokenIds[0]]) < 1e-4)
            #expect(lp.sampledRank == 1)
        }
    }

    @Test func nSequencesShareThePromptAndSampleOnTheirOwn() throws {
        let (_, golden) = try EngineParityTests.load("llama")
        var p = seeded(5)
        p.n = 4
        let engine = try llm()
        let output = try engine.generate([golden.prompts[3].prompt_token_ids], params: [p])[0]
        #expect(output.outputs.map(\.index) == [0, 1, 2, 3])
        #expect(Set(output.outputs.map(\.tokenIds)).count > 1, "four seeded sequences should not all agree")
        #expect(output.outputs.allSatisfy { $0.tokenIds.count == 16 && $0.finishReason == .length })
        let stats = engine.core.stats()
        #expect(stats.numFreeBlocks == stats.numTotalBlocks)
    }

    /// A stop token ends the sequence (finish reason stop, stop_reason the token), as vLLM.
    @Test func stopTokenIdsEndGeneration() throws {
        let (_, golden) = try EngineParityTests.load("llama")
        let prompt = golden.prompts[2]
        var p = EngineParityTests.greedy(24)
        p.stopTokenIds = [prompt.greedy_token_ids[5]]
        let out = try llm().generate([prompt.prompt_token_ids], params: [p])[0].outputs[0]
        let firstStop = prompt.greedy_token_ids.firstIndex(of: prompt.greedy_token_ids[5])!
        #expect(out.tokenIds == Array(prompt.greedy_token_ids[...firstStop]))
        #expect(out.finishReason == .stop)
        #expect(out.stopReason == .tokenId(prompt.greedy_token_ids[5]))
    }

    /// vLLM's request timing: arrival ≤ first scheduled < first token ≤ finished — the queue time ends when the request
    /// is scheduled, before its first step runs.
    @Test func requestTimestampsAreOrdered() throws {
        let (_, golden) = try EngineParityTests.load("llama")
        let m = try llm().generate([golden.prompts[2].prompt_token_ids], params: [seeded(1)])[0].metrics
        let scheduled = try #require(m.firstScheduledTime), first = try #require(m.firstTokenTime)
        let finished = try #require(m.finishedTime)
        #expect(m.arrivalTime <= scheduled && scheduled < first && first <= finished)
    }
}

extension SamplingEngineTests {
    struct AllLogits: Decodable {
        struct Prompt: Decodable { var prompt_token_ids: [Int]; var all_logits: [[Float]]? }
        var prompts: [Prompt]
        var all_positions_prompt: Int
    }

    /// prompt_logprobs: position i holds log_softmax(transformers' logits at i − 1)[prompt[i]] with
    /// its rank and the top 3; position 0 is nil — whole, and in 16-token prefill chunks.
    @Test(arguments: [nil, 16])
    func promptLogprobsAreLogSoftmaxOfTransformersLogits(budget: Int?) throws {
        let url = EngineParityTests.goldens.appendingPathComponent("llama/golden.json")
        let golden = try JSONDecoder().decode(AllLogits.self, from: Data(contentsOf: url))
        let prompt = golden.prompts[golden.all_positions_prompt]
        let all = try #require(prompt.all_logits)
        var args = EngineArgs(model: EngineParityTests.goldens.appendingPathComponent("llama"))
        args.blockSize = 4
        if let budget { args.maxNumBatchedTokens = budget; args.maxNumSeqs = budget }
        let engine = try LLM(args: args, backend: CPUBackend())
        var p = EngineParityTests.greedy(2)
        p.promptLogprobs = 3
        let output = try engine.generate([prompt.prompt_token_ids], params: [p])[0]
        let logprobs = try #require(output.promptLogprobs)
        #expect(logprobs.count == prompt.prompt_token_ids.count)
        #expect(logprobs[0] == nil)
        for i in 1..<prompt.prompt_token_ids.count {
            let row = all[i - 1].map(Double.init)
            let maxLogit = row.max()!
            let logSum = log(row.map { exp($0 - maxLogit) }.reduce(0, +)) + maxLogit
            let token = prompt.prompt_token_ids[i]
            let lp = try #require(logprobs[i], "position \(i)")
            #expect(abs(Double(lp.sampledLogprob) - (row[token] - logSum)) < 1e-4, "position \(i)")
            #expect(lp.sampledRank == row.filter { $0 >= row[token] }.count, "position \(i)")
            let order = row.indices.sorted { row[$0] > row[$1] || (row[$0] == row[$1] && $0 < $1) }
            #expect(lp.top.map { Int($0.tokenId) } == Array(order.prefix(3)), "position \(i)")
        }
    }
}

extension SamplingEngineTests {
    /// A batch with one invalid request fails with vLLM's message and enqueues nothing.
    @Test func anInvalidRequestInABatchLeavesNothingBehind() throws {
        let engine = try llm()
        var bad = seeded(1)
        bad.topP = 0
        #expect {
            _ = try engine.generate([[5, 6], [7, 8]], params: [seeded(1), bad])
        } throws: { "\($0)".contains("top_p") }
        let stats = engine.core.stats()
        #expect(stats.numRunning == 0 && stats.numWaiting == 0 && stats.numFreeBlocks == stats.numTotalBlocks)
        #expect(try engine.generate([[5, 6]], params: [seeded(1)])[0].outputs[0].tokenIds.count == 16)
    }
}
