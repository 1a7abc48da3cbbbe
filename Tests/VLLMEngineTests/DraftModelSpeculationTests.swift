import Foundation
import Testing
import VLLMCPU
import VLLMCore
import VLLMEngine
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
        var params: [SamplingParams] = (0..<5).map { _ in EngineParityTests.greedy(150) }
        for i in 0..<3 {
            var p = SamplingParams()
            p.temperature = 0.8
            p.topP = 0.95
            p.seed = 7 + i
            p.maxTokens = 150
            p.ignoreEos = true
            params.append(p)
        }
        return params
    }

    func run(_ llm: LLM, _ params: [SamplingParams]) throws -> [[Int]] {
        let prompts = (0..<params.count).map { SpeculativeEngineTests.prompts[$0 % SpeculativeEngineTests.prompts.count] }
        return try llm.generate(prompts, params: params).map { $0.outputs[0].tokenIds }
    }

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
}
