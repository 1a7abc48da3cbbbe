import Foundation
import Testing
import VLLMCPU
import VLLMCore
@testable import VLLMEngine
import VLLMModels

/// Speculative decoding by a draft model (`{"model": DRAFT, "num_speculative_tokens": k}`) on stories260K: the outputs
/// equal the unspeculated engine's — greedy and seeded samples, with chunked prefill, preemption and prefix hits —,
/// no block leaks. Two drafts: the model itself (on the CPU every greedy draft is then accepted: a multi-token verify
/// computes exactly what one-token decode does) and the model cut to its first four layers (some drafts right, some
/// wrong: the rejection path).
@Suite struct DraftModelSpeculationTests {
    /// stories260K's folder with config.json saying `layers` layers (the loader reads the first ones' weights).
    static func truncatedStories(layers: Int) throws -> URL? {
        guard let folder = EngineParityTests.stories260K else { return nil }
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("stories260K-\(layers)-layers-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: copy, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) where name != "config.json" {
            try FileManager.default.createSymbolicLink(at: copy.appendingPathComponent(name), withDestinationURL: folder.appendingPathComponent(name))
        }
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("config.json"))) as! [String: Any]
        config["num_hidden_layers"] = layers
        try JSONSerialization.data(withJSONObject: config).write(to: copy.appendingPathComponent("config.json"))
        return copy
    }

    static func params() -> [SamplingParams] {
        SpeculativeEngineTests.mixedParams(greedy: 5, sampled: 3, temperature: 0.8, firstSeed: 7, maxTokens: 150)
    }

    func run(_ llm: LLM, _ params: [SamplingParams]) throws -> [[Int]] { try SpeculativeEngineTests.run(llm, params) }

    @Test func theModelAsItsOwnDraftHasEveryGreedyDraftAccepted() throws {
        guard let folder = EngineParityTests.stories260K,
              let plain = try SpeculativeEngineTests.stories(speculative: nil) else { return }
        let greedy = (0..<6).map { _ in EngineParityTests.greedy(120) }
        let expected = try run(plain, greedy)
        let config = SpeculativeConfig(numSpeculativeTokens: 3, draftModel: folder.path)
        guard let speculated = try SpeculativeEngineTests.stories(speculative: config) else { return }
        #expect(try run(speculated, greedy) == expected)
        let stats = speculated.core.stats()
        let spec = try #require(stats.specDecoding)
        #expect(spec.numDrafts > 0 && spec.numAcceptedTokens == spec.numDraftTokens,
                "\(spec.numAcceptedTokens) of \(spec.numDraftTokens) draft tokens accepted")
        #expect(stats.numFreeBlocks == stats.numTotalBlocks, "blocks leaked")
    }

    @Test func aTruncatedDraftKeepsGreedyAndSeededOutputs() throws {
        guard let draft = try Self.truncatedStories(layers: 4), let plain = try SpeculativeEngineTests.stories(speculative: nil) else { return }
        defer { try? FileManager.default.removeItem(at: draft) }
        let params = Self.params()
        let expected = try run(plain, params)
        struct Setting { var name: String; var apply: (inout EngineArgs) -> Void }
        for setting in [
            Setting(name: "default") { _ in },
            Setting(name: "chunked prefill") { $0.maxNumBatchedTokens = 8; $0.maxNumSeqs = 4 },
            Setting(name: "preemption") { $0.numGPUBlocksOverride = 60; $0.blockSize = 4; $0.enablePrefixCaching = false },
            Setting(name: "prefix hits") { $0.blockSize = 4 },
        ] {
            for k in [1, 4] {
                let config = SpeculativeConfig(numSpeculativeTokens: k, draftModel: draft.path)
                guard let speculated = try SpeculativeEngineTests.stories(speculative: config, configure: setting.apply) else { return }
                #expect(try run(speculated, params) == expected, "\(setting.name), k = \(k)")
                let stats = speculated.core.stats()
                let spec = try #require(stats.specDecoding)
                #expect(spec.numAcceptedTokens > 0 && spec.numAcceptedTokens < spec.numDraftTokens,
                        "\(setting.name), k = \(k): \(spec.numAcceptedTokens) of \(spec.numDraftTokens) accepted")
                #expect(stats.numFreeBlocks == stats.numTotalBlocks, "\(setting.name), k = \(k): blocks leaked")
                switch setting.name {
                case "preemption": #expect(stats.numPreemptions > 0, "a 60-block cache should force preemptions")
                case "prefix hits": #expect(stats.prefixCacheHits > 0, "repeated prompts should hit the prefix cache")
                default: break
                }
                if setting.name == "default" {
                    print("stories260K, draft = its first 4 layers, k = \(k): \(spec.numAcceptedTokens) of \(spec.numDraftTokens) "
                          + "draft tokens accepted in \(spec.numDrafts) drafts, per position \(spec.numAcceptedTokensPerPosition)")
                }
            }
        }
    }

    @Test func draftModelsThatCannotServeAreRefusedByName() throws {
        guard let folder = EngineParityTests.stories260K else { return }
        func refusal(_ draft: String, configure: (inout EngineArgs) -> Void = { _ in }) -> String {
            var args = EngineArgs(model: folder)
            args.kvCacheMemory = 1 << 22
            args.speculativeConfig = SpeculativeConfig(numSpeculativeTokens: 2, draftModel: draft)
            configure(&args)
            do {
                _ = try LLM(args: args, backend: CPUBackend())
                return "accepted"
            } catch { return "\(error)" }
        }
        #expect(refusal("/nonexistent/draft").contains("the draft model '/nonexistent/draft' is not a model folder"))
        // The demo model's vocabulary (259) is not stories260K's (512).
        let demo = FileManager.default.temporaryDirectory.appendingPathComponent("demo-draft-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: demo, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: demo) }
        try Data(EngineArgs.demoConfigJSON.utf8).write(to: demo.appendingPathComponent("config.json"))
        #expect(refusal(demo.path) { $0.loadFormat = .dummy(seed: 0) }.contains("has vocab_size 259 and the target 512"))
        #expect(refusal(folder.path) { $0.enableLoRA = true }.contains("--enable-lora is not supported yet"))
    }

    /// Verify steps in which every sequence feeds its last token and k drafts run as graphs, padded to the graph's
    /// shape (rows of k + 1 tokens that write nothing): on the CPU, padding as a graph would changes no output.
    @Test func uniformVerifyStepsPaddedAsGraphsChangeNoOutput() throws {
        guard let folder = EngineParityTests.stories260K, let draft = try Self.truncatedStories(layers: 4),
              let plain = try SpeculativeEngineTests.stories(speculative: nil) else { return }
        defer { try? FileManager.default.removeItem(at: draft) }
        let params = Self.params()
        let expected = try run(plain, params)
        for (path, k) in [(folder.path, 3), (draft.path, 4)] {
            guard let speculated = try SpeculativeEngineTests.stories(speculative: SpeculativeConfig(numSpeculativeTokens: k, draftModel: path))
            else { return }
            let runner = speculated.core.runner
            runner.graphs = DecodeGraphs(backend: runner.model.backend, enabled: false, padsOnly: true, blockSize: runner.blockSize,
                                         maxRows: runner.maxNumSeqs, maxTokens: min(runner.maxNumBatchedTokens, runner.maxNumSeqs * (k + 1)))
            #expect(try run(speculated, params) == expected, "draft \(path), k = \(k)")
            #expect(runner.graphs.paddedVerifySteps > 0, "no verify step was padded as a graph")
            let stats = speculated.core.stats()
            #expect(stats.numFreeBlocks == stats.numTotalBlocks, "blocks leaked")
        }
    }

    /// Sampled outputs keep the target's distribution: the second and third tokens of 3000 requests (temperature 1,
    /// distinct seeds) speculated by the four-layer draft, against 3000 unspeculated ones with other seeds — a
    /// chi-square test of homogeneity over the tokens both draw (rarer ones pooled), at p = 0.001. The first token
    /// comes from the prefill either way; the second and third are verified drafts or the samples that replaced them.
    @Test func sampledTokensKeepTheTargetsDistribution() throws {
        guard let draft = try Self.truncatedStories(layers: 4), let plain = try SpeculativeEngineTests.stories(speculative: nil),
              let speculated = try SpeculativeEngineTests.stories(speculative: SpeculativeConfig(numSpeculativeTokens: 2, draftModel: draft.path))
        else { return }
        defer { try? FileManager.default.removeItem(at: draft) }
        let count = 3000, prompt = [1, 403, 407, 261, 378]
        func outputs(_ llm: LLM, firstSeed: Int) throws -> [[Int]] {
            let params = (0..<count).map { i -> SamplingParams in
                var p = SamplingParams()
                p.temperature = 1
                p.seed = firstSeed + i
                p.maxTokens = 3
                p.ignoreEos = true
                return p
            }
            return try llm.generate(Array(repeating: prompt, count: count), params: params).map { $0.outputs[0].tokenIds }
        }
        let reference = try outputs(plain, firstSeed: 0), tested = try outputs(speculated, firstSeed: 1_000_000)
        let spec = try #require(speculated.core.stats().specDecoding)
        #expect(spec.numAcceptedTokens > count / 4, "too few drafts accepted (\(spec.numAcceptedTokens)) for the test to mean much")
        for position in [1, 2] {
            var a: [Int: Double] = [:], b: [Int: Double] = [:]
            for tokens in reference { a[tokens[position], default: 0] += 1 }
            for tokens in tested { b[tokens[position], default: 0] += 1 }
            // Categories: tokens whose pooled count is at least 10 (expected ≥ 5 a side); the rest pooled as one.
            var categories: [(Double, Double)] = [], rest = (0.0, 0.0)
            for token in Set(a.keys).union(b.keys) {
                let pair = (a[token] ?? 0, b[token] ?? 0)
                if pair.0 + pair.1 >= 10 { categories.append(pair) } else { rest = (rest.0 + pair.0, rest.1 + pair.1) }
            }
            if rest.0 + rest.1 > 0 { categories.append(rest) }
            var chiSquare = 0.0
            for (x, y) in categories {
                let expected = (x + y) / 2  // equal sample sizes
                chiSquare += (x - expected) * (x - expected) / expected + (y - expected) * (y - expected) / expected
            }
            // The 0.999 quantile of chi-square with df degrees of freedom (Wilson–Hilferty, z = 3.0902).
            let df = Double(categories.count - 1), h = 2 / (9 * df)
            let critical = df * pow(1 - h + 3.0902 * h.squareRoot(), 3)
            #expect(df >= 5 && chiSquare < critical,
                    "output token \(position): chi-square \(chiSquare) over \(Int(df)) degrees of freedom (0.999 quantile \(critical))")
        }
    }
}
