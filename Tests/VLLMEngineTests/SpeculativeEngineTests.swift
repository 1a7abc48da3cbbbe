import Foundation
import Testing
import VLLMCPU
import VLLMCore
import VLLMEngine
import VLLMTokenizers

/// Speculative decoding (n-gram prompt lookup) through the whole engine: greedy tokens equal transformers' (the
/// tiny goldens) and the unspeculated engine's (stories260K, whose stories repeat themselves), seeded samples
/// equal too — the verification keeps the target's distribution exactly —, with chunked prefill, prefix caching
/// and preemption; no block leaked.
@Suite struct SpeculativeEngineTests {
    static let ngram = SpeculativeConfig(numSpeculativeTokens: 4, promptLookupMin: 1, promptLookupMax: 3)

    @Test func tinyGoldensStayGreedyExact() throws {
        let parity = EngineParityTests()
        for (name, configure) in [
            ("qwen2", { (_: inout EngineArgs) in }),
            ("llama", { (args: inout EngineArgs) in args.maxNumBatchedTokens = 16; args.maxNumSeqs = 16 }),
            ("qwen3", { (_: inout EngineArgs) in }),
            ("llama", { (args: inout EngineArgs) in args.numGPUBlocksOverride = 24; args.enablePrefixCaching = false }),
        ] as [(String, (inout EngineArgs) -> Void)] {
            let llm = try parity.check(name, copies: 8, async: false) {
                configure(&$0)
                $0.speculativeConfig = Self.ngram
            }
            let spec = try #require(llm.core.stats().specDecoding)
            #expect(spec.numDrafts > 0, "\(name): no draft was verified")
            #expect(spec.numAcceptedTokens <= spec.numDraftTokens)
        }
    }

    static func stories(speculative: SpeculativeConfig?, configure: (inout EngineArgs) -> Void = { _ in }) throws -> LLM? {
        guard let folder = EngineParityTests.stories260K else { return nil }
        var args = EngineArgs(model: folder)
        args.kvCacheMemory = 1 << 22
        args.speculativeConfig = speculative
        configure(&args)
        return try LLM(args: args, backend: CPUBackend())
    }

    /// Token-id prompts in stories260K's vocabulary.
    static let prompts: [[Int]] = [[1, 403, 407, 261, 378], [1, 306, 332, 325, 265], [1, 411, 285, 352, 268, 290], [1, 284, 334]]

    /// `greedy` greedy requests, then `sampled` seeded ones (seeds `firstSeed` …, top-p 0.95, EOS ignored), each of
    /// `maxTokens` tokens.
    static func mixedParams(greedy: Int, sampled: Int, temperature: Float, firstSeed: Int, maxTokens: Int) -> [SamplingParams] {
        var params: [SamplingParams] = (0..<greedy).map { _ in EngineParityTests.greedy(maxTokens) }
        for i in 0..<sampled {
            var p = SamplingParams()
            p.temperature = temperature
            p.topP = 0.95
            p.seed = firstSeed + i
            p.maxTokens = maxTokens
            p.ignoreEos = true
            params.append(p)
        }
        return params
    }

    /// Each request's output tokens, its prompt taken in turn from `prompts`.
    static func run(_ llm: LLM, _ params: [SamplingParams]) throws -> [[Int]] {
        let prompts = (0..<params.count).map { Self.prompts[$0 % Self.prompts.count] }
        return try llm.generate(prompts, params: params).map { $0.outputs[0].tokenIds }
    }

    @Test(arguments: [
        SpeculativeConfig(numSpeculativeTokens: 2, promptLookupMin: 2, promptLookupMax: 4),
        SpeculativeConfig(numSpeculativeTokens: 5, promptLookupMin: 1, promptLookupMax: 5),
    ])
    func storiesGreedyAndSeededSamplesAreUnchanged(config: SpeculativeConfig) throws {
        guard let plain = try Self.stories(speculative: nil), let speculated = try Self.stories(speculative: config) else { return }
        let params = Self.mixedParams(greedy: 6, sampled: 4, temperature: 0.9, firstSeed: 100, maxTokens: 160)
        let expected = try Self.run(plain, params)
        let outputs = try Self.run(speculated, params)
        #expect(outputs == expected)
        let spec = try #require(speculated.core.stats().specDecoding)
        #expect(spec.numAcceptedTokens > 0 && spec.numDrafts > 0)
        #expect(spec.numAcceptedTokensPerPosition.count == config.numSpeculativeTokens)
        let stats = speculated.core.stats()
        #expect(stats.numFreeBlocks == stats.numTotalBlocks, "blocks leaked")
        print("stories260K, n-gram \(config.promptLookupMin)…\(config.promptLookupMax), k = \(config.numSpeculativeTokens): "
              + "\(spec.numAcceptedTokens) of \(spec.numDraftTokens) draft tokens accepted in \(spec.numDrafts) drafts")
    }

    @Test func chunkedPrefillPrefixHitsAndPreemptionKeepTheTokens() throws {
        let params = (0..<8).map { _ in EngineParityTests.greedy(120) }
        guard let plain = try Self.stories(speculative: nil) else { return }
        let expected = try Self.run(plain, params)
        struct Setting { var name: String; var apply: (inout EngineArgs) -> Void }
        for configure in [
            Setting(name: "chunked prefill") { $0.maxNumBatchedTokens = 8; $0.maxNumSeqs = 4 },
            Setting(name: "preemption") { $0.numGPUBlocksOverride = 40; $0.blockSize = 4; $0.enablePrefixCaching = false },
            Setting(name: "prefix hits") { $0.blockSize = 4 },
        ] {
            guard let speculated = try Self.stories(speculative: Self.ngram, configure: configure.apply) else { return }
            #expect(try Self.run(speculated, params) == expected, "\(configure.name)")
            let stats = speculated.core.stats()
            #expect(stats.numFreeBlocks == stats.numTotalBlocks, "blocks leaked")
            #expect((stats.specDecoding?.numAcceptedTokens ?? 0) > 0, "\(configure.name): nothing was speculated")
            switch configure.name {
            case "preemption": #expect(stats.numPreemptions > 0, "a 40-block cache should force preemptions")
            case "prefix hits": #expect(stats.prefixCacheHits > 0, "repeated prompts should hit the prefix cache")
            default: break
            }
        }
    }

    /// Text, not only tokens: requests that stop at a stop token or EOS (often in a step that accepted drafts) keep every
    /// word, and leave the stop token out of the text as without speculation.
    @Test func textAndEOSStopsAreUnchanged() throws {
        guard let folder = EngineParityTests.stories260K else { return }
        let tokenizer = try Tokenizer.load(modelDirectory: folder)
        func engine(_ config: SpeculativeConfig?) throws -> LLM {
            var args = EngineArgs(model: folder)
            args.kvCacheMemory = 1 << 22
            args.speculativeConfig = config
            return try LLM(args: args, backend: CPUBackend(), detokenizer: tokenizer)
        }
        var params: [SamplingParams] = []
        for i in 0..<8 {
            var p = SamplingParams()
            p.maxTokens = 400
            if i % 2 == 0 {
                p.temperature = 0
                p.stopTokenIds = [443]  // "!"
            } else {
                p.temperature = 0.8
                p.seed = i  // stories end with EOS now and then
            }
            params.append(p)
        }
        let prompts = (0..<params.count).map { Self.prompts[$0 % Self.prompts.count] }
        let plain = try engine(nil).generate(prompts, params: params)
        let speculating = try engine(Self.ngram)
        let speculated = try speculating.generate(prompts, params: params)
        #expect(plain.contains { $0.outputs[0].finishReason == .stop }, "no request stopped: the test proves nothing")
        for (a, b) in zip(plain, speculated) {
            #expect(a.outputs[0].text == b.outputs[0].text)
            #expect(a.outputs[0].tokenIds == b.outputs[0].tokenIds)
            #expect(a.outputs[0].finishReason == b.outputs[0].finishReason)
        }
        #expect((speculating.core.stats().specDecoding?.numAcceptedTokens ?? 0) > 0)
    }

    @Test func penalizedRequestsDoNotSpeculate() throws {
        guard let speculated = try Self.stories(speculative: Self.ngram), let plain = try Self.stories(speculative: nil) else { return }
        var p = EngineParityTests.greedy(80)
        p.repetitionPenalty = 1.3
        #expect(try Self.run(speculated, [p, p]) == Self.run(plain, [p, p]))
        #expect(speculated.core.stats().specDecoding?.numDrafts == 0)
    }

    /// A step that accepted drafts and ended at EOS hands the output processor several tokens at once: their text is
    /// the same as one token at a time, EOS left out of it.
    @Test func severalTokensEndingAtEOSKeepTheirText() throws {
        guard let folder = EngineParityTests.stories260K else { return }
        let tokenizer = try Tokenizer.load(modelDirectory: folder)
        let tokens = [403, 407, 261, 378, 306, 332]
        let eos = 2
        var params = SamplingParams()
        params.maxTokens = 50
        func text(_ steps: [[Int]]) -> String {
            var processor = OutputProcessor(detokenizerFactory: tokenizer)
            _ = processor.addRequest(requestId: "r", promptTokenIds: [1], params: params, eosTokenId: eos, arrivalTime: 0, drawnSeeds: [0])
            var text = ""
            for (i, step) in steps.enumerated() {
                let last = i == steps.count - 1
                let output = EngineCoreOutput(requestId: "r", newTokenIds: step, finishReason: last ? .stop : nil, stopReason: nil,
                                              numCachedTokens: 0)
                for result in processor.process([(output, nil)], now: 0).outputs { text += result.outputs[0].deltaText }
            }
            return text
        }
        let oneByOne = text((tokens + [eos]).map { [$0] })
        #expect(!oneByOne.isEmpty)
        #expect(text([Array(tokens.prefix(2)), Array(tokens.dropFirst(2)) + [eos]]) == oneByOne)
        #expect(text([tokens + [eos]]) == oneByOne)
    }

    @Test func theSpeculativeConfigReadsAsVLLMs() throws {
        let full = try SpeculativeConfig(json: #"{"method": "ngram", "num_speculative_tokens": 3, "prompt_lookup_min": 2, "prompt_lookup_max": 4}"#)
        #expect(full == SpeculativeConfig(numSpeculativeTokens: 3, promptLookupMin: 2, promptLookupMax: 4))
        #expect(try SpeculativeConfig(json: #"{"model": "ngram", "num_speculative_tokens": 2}"#)
            == SpeculativeConfig(numSpeculativeTokens: 2, promptLookupMin: 5, promptLookupMax: 5))
        #expect(try SpeculativeConfig(json: #"{"method": "ngram", "num_speculative_tokens": 2, "prompt_lookup_max": 3}"#).promptLookupMin == 3)
        func refusal(_ json: String) -> String {
            do {
                _ = try SpeculativeConfig(json: json)
                return "accepted"
            } catch { return error.message }
        }
        #expect(try SpeculativeConfig(json: #"{"model": "meta-llama/Llama-3.2-1B", "num_speculative_tokens": 4}"#)
            == SpeculativeConfig(numSpeculativeTokens: 4, draftModel: "meta-llama/Llama-3.2-1B"))
        #expect(try SpeculativeConfig(json: #"{"method": "draft_model", "model": "/models/draft", "num_speculative_tokens": 2}"#).method
            == "draft_model")
        #expect(refusal(#"{"method": "draft_model", "num_speculative_tokens": 2}"#).contains("method draft_model needs \"model\""))
        #expect(refusal(#"{"method": "eagle", "num_speculative_tokens": 4}"#).contains("method eagle is not supported"))
        #expect(refusal(#"{"model": 3, "num_speculative_tokens": 4}"#).contains("model must be a string"))
        #expect(refusal(#"{"method": "ngram"}"#).contains("num_speculative_tokens is required"))
        #expect(refusal(#"{"method": "ngram", "num_speculative_tokens": 0}"#).contains("must be an integer in 1…64, got 0"))
        #expect(refusal(#"{"method": "ngram", "num_speculative_tokens": true}"#).contains("num_speculative_tokens must be a positive integer"))
        #expect(refusal(#"{"method": "ngram", "num_speculative_tokens": 1.5}"#).contains("num_speculative_tokens must be a positive integer"))
        #expect(refusal(#"{"method": "ngram", "num_speculative_tokens": 4, "prompt_lookup_max": 5000}"#).contains("1…1024"))
        #expect(try SpeculativeConfig(json: #"{"method": "ngram", "num_speculative_tokens": 1, "prompt_lookup_min": 1}"#)
            == SpeculativeConfig(numSpeculativeTokens: 1, promptLookupMin: 1, promptLookupMax: 1))
        #expect(refusal(#"{"method": "ngram", "num_speculative_tokens": 2, "prompt_lookup_min": 4, "prompt_lookup_max": 2}"#)
            == "prompt_lookup_min=4 must be <= prompt_lookup_max=2")
        #expect(refusal(#"{"method": "ngram", "num_speculative_tokens": 2, "draft_tensor_parallel_size": 1}"#).contains("'draft_tensor_parallel_size' is not supported"))
        #expect(refusal("ngram").contains("must be a JSON object"))
    }
}
