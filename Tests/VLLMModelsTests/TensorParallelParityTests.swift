import Foundation
import Testing
import VLLMCompute
import VLLMCPU
import VLLMEngine
@testable import VLLMModels

/// Tensor parallelism on the CPU: each rank a thread with its own backend and its shard of the weights (vLLM's
/// Megatron split), joined by `CPUCommunicator`. Its logits must be transformers' (the same goldens, the same
/// bound as one rank) — so every slice a rank loads and every all-reduce / all-gather sits where it belongs.
@Suite struct TensorParallelParityTests {
    /// The tiny models cover: GQA (2 KV heads: replicated at 4 ranks), MHA with tied embeddings (a sharded
    /// vocabulary on both ends), one KV head, q/k/v and o biases, Qwen3's q/k norms, rope scalings.
    static let models = ["llama", "llama-mha-tied", "llama-bf16-sharded", "llama-f16-bias", "llama-rope-yarn", "mistral",
                         "qwen2", "qwen3"]

    @Test(arguments: models, [2, 4])
    func mixedBatchMatchesTransformers(name: String, ranks: Int) throws {
        let golden = try Golden.load(name)
        let harness = try Harness(folder: Paths.goldens.appendingPathComponent(name), tensorParallelSize: ranks)
        let result = try harness.generate(golden.prompts.map(\.prompt_token_ids), numNewTokens: 24)
        for (i, prompt) in golden.prompts.enumerated() {
            let error = relativeError(result.logits[i], prompt.last_logits)
            #expect(error <= 1e-4, "\(name) at TP=\(ranks), batch row \(i): relative error \(error)")
            #expect(result.tokens[i] == prompt.greedy_token_ids, "\(name) at TP=\(ranks), batch row \(i)")
        }
    }

    /// Chunked prefill through the sharded paged cache: every position's logits (prompt logprobs' path, which
    /// gathers the vocabulary shards of rows the forward did not select).
    @Test(arguments: ["llama", "qwen2", "qwen3"], [2, 4])
    func everyPositionMatchesTransformers(name: String, ranks: Int) throws {
        let golden = try Golden.load(name)
        let prompt = golden.prompts[golden.all_positions_prompt]
        let allLogits = try #require(prompt.all_logits)
        let harness = try Harness(folder: Paths.goldens.appendingPathComponent(name), blockSize: 16, tensorParallelSize: ranks)
        try harness.expectEveryPosition(prompt.prompt_token_ids, matches: allLogits, label: "\(name) at TP=\(ranks)")
    }

    /// Quantized checkpoints shard along their groups (and act-order GPTQ keeps its groups whole, as vLLM):
    /// the same goldens as one rank, made by AutoGPTQ, AutoAWQ, compressed-tensors and torch.
    @Test(arguments: ["gptq-4bit-g32-sym", "gptq-4bit-g64-actorder-asym", "gptq-8bit-channel-sym", "awq-4bit-g64",
                      "ct-w4a16-group-asym", "ct-fp8-block", "fp8-block", "online-fp8"], [2, 4])
    func quantizedMatchesTheirTools(name: String, ranks: Int) throws {
        let golden = try Golden.load("quantized/\(name)")
        let harness = try Harness(folder: Paths.goldens.appendingPathComponent("quantized/\(name)"),
                                  quantization: name == "online-fp8" ? "fp8" : nil, tensorParallelSize: ranks)
        let result = try harness.generate(golden.prompts.map(\.prompt_token_ids), numNewTokens: 8)
        for (i, prompt) in golden.prompts.enumerated() {
            let error = relativeError(result.logits[i], prompt.last_logits)
            #expect(error <= 1e-4, "\(name) at TP=\(ranks), prompt \(i): relative error \(error)")
            #expect(result.tokens[i] == Array(prompt.greedy_token_ids.prefix(8)), "\(name) at TP=\(ranks), prompt \(i)")
        }
    }

    /// The real trained stories260K: greedy from BOS equals transformers' story at 2 and 4 ranks.
    @Test(arguments: [2, 4])
    func stories260KGreedyStoryMatchesTransformers(ranks: Int) throws {
        guard let folder = Paths.sharedFolder("models/stories260K") else { return }
        struct Story: Decodable { var prompt_token_ids: [Int32]; var greedy_token_ids: [Int32] }
        let story = try JSONDecoder().decode(Story.self, from: Data(contentsOf: Paths.goldens.appendingPathComponent("stories260K.json")))
        let harness = try Harness(folder: folder, blockSize: 16, numBlocks: 32, tensorParallelSize: ranks)
        let result = try harness.generate([story.prompt_token_ids], numNewTokens: story.greedy_token_ids.count)
        #expect(result.tokens[0] == story.greedy_token_ids)
    }

    /// What each rank holds, as vLLM splits it: 4 heads and 2 KV heads over 4 ranks replicate each KV head on two
    /// consecutive ranks; a vocabulary of 259 over 2 ranks gives 130 rows each, the last one padding.
    @Test func splitIsVLLMs() throws {
        let config = try ModelConfig.parse(Data(EngineArgs.demoConfigJSON.utf8), path: "demo")
        let groups = CPUCommunicator.group(size: 4)
        let shares = try (0..<4).map { try LlamaModel.split(config, TensorParallelRank(communicator: groups[$0])) }
        #expect(shares.map(\.heads) == [0..<1, 1..<2, 2..<3, 3..<4])
        #expect(shares.map(\.kvHeads) == [0..<1, 0..<1, 1..<2, 1..<2])
        #expect(shares.map(\.intermediate) == [0..<88, 88..<176, 176..<264, 264..<352])
        let two = CPUCommunicator.group(size: 2)
        let vocab = try (0..<2).map { try LlamaModel.split(config, TensorParallelRank(communicator: two[$0])) }
        #expect(vocab.map(\.vocabulary) == [0..<130, 130..<259])
        #expect(vocab.map(\.vocabPerRank) == [130, 130])
    }

    /// A model that does not split names what does not divide, before any weight is read.
    @Test func unevenSplitsAreRefused() throws {
        let folder = Paths.goldens.appendingPathComponent("llama")
        let config = try ModelConfig.load(modelDirectory: folder)
        for (ranks, expected) in [(3, "4 attention heads do not split into 3 ranks"), (8, "4 attention heads do not split into 8 ranks")] {
            let group = CPUCommunicator.group(size: ranks)
            #expect {
                _ = try ModelRegistry.load(config: config, directory: folder, backend: CPUBackend(),
                                           parallel: TensorParallelRank(communicator: group[0]))
            } throws: { "\($0)".contains(expected) && "\($0)".contains("--tensor-parallel-size \(ranks)") }
        }
    }
}
