import Foundation
import Testing
import VLLMCompute
import VLLMEngine
import VLLMModels

/// The forward pass against transformers' own logits and greedy tokens (scripts/make_model_goldens.py).
@Suite struct TransformersParityTests {
    static let models = ["llama", "llama-mha-tied", "llama-bf16-sharded", "llama-f16-bias", "llama-rope-linear",
                         "llama-rope-dynamic", "llama-rope-llama3", "llama-rope-yarn", "mistral", "qwen2", "qwen3"]

    @Test(arguments: models)
    func eachPromptAloneMatchesLogitsAndGreedyTokens(name: String) throws {
        let golden = try Golden.load(name)
        for prompt in golden.prompts {
            let harness = try Harness(folder: Paths.goldens.appendingPathComponent(name))
            let result = try harness.generate([prompt.prompt_token_ids], numNewTokens: prompt.greedy_token_ids.count)
            let error = relativeError(result.logits[0], prompt.last_logits)
            #expect(error <= 1e-4, "\(name), prompt of \(prompt.prompt_token_ids.count): relative error \(error)")
            #expect(result.tokens[0] == prompt.greedy_token_ids, "\(name), prompt of \(prompt.prompt_token_ids.count)")
        }
    }

    @Test(arguments: models)
    func mixedBatchMatchesEachPromptAlone(name: String) throws {
        let golden = try Golden.load(name)
        let harness = try Harness(folder: Paths.goldens.appendingPathComponent(name))
        let result = try harness.generate(golden.prompts.map(\.prompt_token_ids), numNewTokens: 24)
        for (i, prompt) in golden.prompts.enumerated() {
            let error = relativeError(result.logits[i], prompt.last_logits)
            #expect(error <= 1e-4, "\(name), batch row \(i): relative error \(error)")
            #expect(result.tokens[i] == prompt.greedy_token_ids, "\(name), batch row \(i)")
        }
    }

    /// The longest prompt fed through the paged cache in chunks: logits at every chunk end equal
    /// transformers' logits at that position, and greedy decoding continues exactly.
    @Test(arguments: models)
    func chunkedPrefillMatchesEveryPosition(name: String) throws {
        let golden = try Golden.load(name)
        let prompt = golden.prompts[golden.all_positions_prompt]
        let allLogits = try #require(prompt.all_logits)
        for chunk in [1, 5, 16] {
            let harness = try Harness(folder: Paths.goldens.appendingPathComponent(name), blockSize: 16)
            var computed = 0
            while computed < prompt.prompt_token_ids.count {
                let n = min(chunk, prompt.prompt_token_ids.count - computed)
                let step = StepSequence(tokenIds: Array(prompt.prompt_token_ids[computed..<(computed + n)]), numComputedTokens: computed,
                                        blockIds: harness.blocks(for: 0, length: computed + n), sampling: Harness.greedy)
                let logits = try harness.runner.logits([step])[0]
                computed += n
                let error = relativeError(logits, allLogits[computed - 1])
                #expect(error <= 1e-4, "\(name), chunk \(chunk), position \(computed - 1): relative error \(error)")
            }
        }
        let harness = try Harness(folder: Paths.goldens.appendingPathComponent(name))
        let result = try harness.generate([prompt.prompt_token_ids], numNewTokens: 24, chunk: 6)
        #expect(result.tokens[0] == prompt.greedy_token_ids, "\(name) greedy after chunked prefill")
    }

    /// The real trained stories260K: greedy from BOS equals transformers' story for 250 tokens.
    @Test func stories260KGreedyStoryMatchesTransformers() throws {
        guard let folder = Paths.sharedFolder("models/stories260K") else { return }
        struct Story: Decodable { var prompt_token_ids: [Int32]; var greedy_token_ids: [Int32] }
        let story = try JSONDecoder().decode(Story.self, from: Data(contentsOf: Paths.goldens.appendingPathComponent("stories260K.json")))
        let harness = try Harness(folder: folder, blockSize: 16, numBlocks: 32)
        let result = try harness.generate([story.prompt_token_ids], numNewTokens: story.greedy_token_ids.count)
        #expect(result.tokens[0] == story.greedy_token_ids)
    }
}
