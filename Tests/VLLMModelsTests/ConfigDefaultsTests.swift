import Foundation
import Testing
import VLLMCPU
import VLLMEngine
import VLLMModels

/// Partial config.json files get transformers' defaults (goldens: transformers' resolved configs).
@Suite struct ConfigDefaultsTests {
    struct Case: Decodable {
        struct Resolved: Decodable {
            var vocab_size: Int, hidden_size: Int, intermediate_size: Int, num_hidden_layers: Int
            var num_attention_heads: Int, num_key_value_heads: Int, head_dim: Int, max_position_embeddings: Int
            var rms_norm_eps: Float, rope_theta: Double, tie_word_embeddings: Bool
        }
        var resolved: Resolved
    }

    @Test func partialConfigsGetTransformersDefaults() throws {
        let url = Paths.goldens.appendingPathComponent("partial_configs.json")
        let data = try Data(contentsOf: url)
        let cases = try JSONDecoder().decode([String: Case].self, from: data)
        let raw = try JSONSerialization.jsonObject(with: data) as! [String: [String: Any]]
        #expect(cases.count == 4)
        for (name, expected) in cases {
            let configJSON = try JSONSerialization.data(withJSONObject: raw[name]!["config"]!)
            let c = try ModelConfig.parse(configJSON, path: name)
            let r = expected.resolved
            #expect(c.vocabSize == r.vocab_size, "\(name)")
            #expect(c.hiddenSize == r.hidden_size, "\(name)")
            #expect(c.intermediateSize == r.intermediate_size, "\(name)")
            #expect(c.numHiddenLayers == r.num_hidden_layers, "\(name)")
            #expect(c.numAttentionHeads == r.num_attention_heads, "\(name)")
            #expect(c.numKeyValueHeads == r.num_key_value_heads, "\(name)")
            #expect(c.headDim == r.head_dim, "\(name)")
            #expect(c.maxPositionEmbeddings == r.max_position_embeddings, "\(name)")
            #expect(c.rmsNormEps == r.rms_norm_eps, "\(name)")
            #expect(c.rope.theta == r.rope_theta, "\(name)")
            #expect(c.tieWordEmbeddings == r.tie_word_embeddings, "\(name)")
        }
    }

    /// `--load-format dummy`: the same seed gives the same weights, another seed others.
    @Test func dummyWeightsAreDeterministicFromTheSeed() throws {
        func logits(seed: UInt64) throws -> [Float] {
            var args = EngineArgs()
            args.seed = seed
            args.numGPUBlocksOverride = 16
            let engine = try args.build(backend: CPUBackend())
            let blocks: [Int32] = [1, 2]
            return try engine.runner.logits([StepSequence(tokenIds: [1, 70, 80], numComputedTokens: 0, blockIds: blocks,
                                                          sampling: Harness.greedy)])[0]
        }
        #expect(try logits(seed: 7) == logits(seed: 7))
        #expect(try logits(seed: 7) != logits(seed: 8))
    }
}
