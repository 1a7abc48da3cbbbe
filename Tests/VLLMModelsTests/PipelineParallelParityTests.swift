import Foundation
import Testing
import VLLMCompute
import VLLMCPU
@testable import VLLMEngine
@testable import VLLMModels

/// Pipeline parallelism on the CPU: stages of ranks in threads, each holding a contiguous range of the decoder layers
/// (vLLM's split), the first the embedding and the last the final norm and lm_head, handing the residual stream on by
/// `CPUCommunicator.send` / `recv`; combined with tensor parallelism inside each stage. Its logits must be
/// transformers' (the same goldens, the same bound as one rank) — so every stage loads its layers and K/V cache, and
/// the hidden states and residual arrive whole at the next stage.
@Suite struct PipelineParallelParityTests {
    /// (tensor-parallel size, pipeline stages): the tiny models have 2 layers, so 2 stages of one layer each.
    static let grids = [(1, 2), (2, 2)]

    @Test(arguments: TensorParallelParityTests.models, grids)
    func mixedBatchMatchesTransformers(name: String, grid: (tp: Int, pp: Int)) throws {
        let golden = try Golden.load(name)
        let harness = try Harness(folder: Paths.goldens.appendingPathComponent(name), tensorParallelSize: grid.tp,
                                  pipelineParallelSize: grid.pp)
        let result = try harness.generate(golden.prompts.map(\.prompt_token_ids), numNewTokens: 24)
        for (i, prompt) in golden.prompts.enumerated() {
            let error = relativeError(result.logits[i], prompt.last_logits)
            #expect(error <= 1e-4, "\(name) at TP=\(grid.tp) PP=\(grid.pp), batch row \(i): relative error \(error)")
            #expect(result.tokens[i] == prompt.greedy_token_ids, "\(name) at TP=\(grid.tp) PP=\(grid.pp), batch row \(i)")
        }
    }

    /// Chunked prefill through every stage's paged cache: every position's logits (prompt logprobs' path, which the
    /// last stage computes from its final hidden states).
    @Test(arguments: ["llama", "qwen2", "qwen3"], grids)
    func everyPositionMatchesTransformers(name: String, grid: (tp: Int, pp: Int)) throws {
        let golden = try Golden.load(name)
        let prompt = golden.prompts[golden.all_positions_prompt]
        let allLogits = try #require(prompt.all_logits)
        let harness = try Harness(folder: Paths.goldens.appendingPathComponent(name), blockSize: 16, tensorParallelSize: grid.tp,
                                  pipelineParallelSize: grid.pp)
        try harness.expectEveryPosition(prompt.prompt_token_ids, matches: allLogits, label: "\(name) at TP=\(grid.tp) PP=\(grid.pp)")
    }

    /// A quantized checkpoint's stages each unpack only their own layers.
    @Test(arguments: ["gptq-4bit-g64-actorder-asym", "awq-4bit-g64", "fp8-block"])
    func quantizedMatchesTheirTools(name: String) throws {
        let golden = try Golden.load("quantized/\(name)")
        let harness = try Harness(folder: Paths.goldens.appendingPathComponent("quantized/\(name)"), pipelineParallelSize: 2)
        let result = try harness.generate(golden.prompts.map(\.prompt_token_ids), numNewTokens: 8)
        for (i, prompt) in golden.prompts.enumerated() {
            let error = relativeError(result.logits[i], prompt.last_logits)
            #expect(error <= 1e-4, "\(name) at PP=2, prompt \(i): relative error \(error)")
            #expect(result.tokens[i] == Array(prompt.greedy_token_ids.prefix(8)), "\(name) at PP=2, prompt \(i)")
        }
    }

    /// The real trained stories260K (5 layers, tied embeddings: the last stage reads the embedding's rows for its
    /// lm_head): greedy from BOS equals transformers' 250-token story — the one the unsharded run is checked against —
    /// at 2 stages (3 + 2 layers), 3 (2 + 2 + 1, uneven), 5 (one layer each) and 2 stages of 2 tensor-parallel ranks.
    @Test(arguments: [(1, 2), (1, 3), (1, 5), (2, 2)])
    func stories260KGreedyStoryMatchesTransformers(grid: (tp: Int, pp: Int)) throws {
        guard let folder = Paths.sharedFolder("models/stories260K") else { return }
        struct Story: Decodable { var prompt_token_ids: [Int32]; var greedy_token_ids: [Int32] }
        let story = try JSONDecoder().decode(Story.self, from: Data(contentsOf: Paths.goldens.appendingPathComponent("stories260K.json")))
        let harness = try Harness(folder: folder, blockSize: 16, numBlocks: 32, tensorParallelSize: grid.tp, pipelineParallelSize: grid.pp)
        let result = try harness.generate([story.prompt_token_ids], numNewTokens: story.greedy_token_ids.count)
        #expect(result.tokens[0] == story.greedy_token_ids, "TP=\(grid.tp) PP=\(grid.pp)")
    }

    /// The layer split is vLLM's `get_pp_indices` (vllm/distributed/utils.py): these are the cases of vLLM's own test,
    /// tests/distributed/test_pipeline_partition.py `test_uneven_auto_partition` — (num_hidden_layers, pp_size) and
    /// every rank's (start, end).
    @Test func layerSplitIsVLLMs() {
        let vLLMCases: [(layers: Int, stages: Int, ranges: [Range<Int>])] = [
            (2, 2, [0..<1, 1..<2]),
            (3, 2, [0..<2, 2..<3]),
            (3, 3, [0..<1, 1..<2, 2..<3]),
            (4, 3, [0..<1, 1..<3, 3..<4]),
            (5, 3, [0..<2, 2..<4, 4..<5]),
        ]
        for item in vLLMCases {
            #expect(PipelineStage.partition(numLayers: item.layers, stages: item.stages) == item.ranges,
                    "\(item.layers) layers in \(item.stages) stages")
        }
    }

    /// VLLM_PP_LAYER_PARTITION, vLLM's override of that split: the cases of its own test, test_pipeline_partition.py
    /// `test_custom_layer_partition` (an even and a balanced partition of 20 layers in 4 stages).
    @Test func givenPartitionIsVLLMs() {
        #expect(PipelineStage.partition(numLayers: 20, stages: 4, layerCounts: [5, 5, 5, 5]) == [0..<5, 5..<10, 10..<15, 15..<20])
        #expect(PipelineStage.partition(numLayers: 20, stages: 4, layerCounts: [4, 6, 6, 4]) == [0..<4, 4..<10, 10..<16, 16..<20])
    }

    /// stories260K's 5 layers as 1 + 4 (VLLM_PP_LAYER_PARTITION=1,4, where the even split gives 3 + 2): each stage
    /// holds those layers, and greedy from BOS is transformers' 250-token story.
    @Test func stories260KInAGivenPartitionMatchesTransformers() throws {
        guard let folder = Paths.sharedFolder("models/stories260K") else { return }
        struct Story: Decodable { var prompt_token_ids: [Int32]; var greedy_token_ids: [Int32] }
        let story = try JSONDecoder().decode(Story.self, from: Data(contentsOf: Paths.goldens.appendingPathComponent("stories260K.json")))
        let harness = try Harness(folder: folder, blockSize: 16, numBlocks: 32, pipelineParallelSize: 2, layerCounts: [1, 4])
        #expect(harness.runner.ranks.map { ($0.model as! LlamaModel).layers.count } == [1, 4])
        let result = try harness.generate([story.prompt_token_ids], numNewTokens: story.greedy_token_ids.count)
        #expect(result.tokens[0] == story.greedy_token_ids)
    }

    /// A partition that does not fit the stages or the layers is refused before any weight is read — vLLM's two
    /// checks in its words, and a stage without layers (which vLLM does not check; here each holds at least one).
    @Test func aPartitionThatDoesNotFitIsRefused() throws {
        let folder = Paths.goldens.appendingPathComponent("llama")
        let config = try ModelConfig.load(modelDirectory: folder)  // 2 hidden layers
        let cases: [([Int], String)] = [
            ([2], "VLLM_PP_LAYER_PARTITION: len(partitions)=1 does not match pp_size=2."),
            ([1, 2], "VLLM_PP_LAYER_PARTITION: sum(partitions)=3 does not match num_hidden_layers=2."),
            ([0, 2], "VLLM_PP_LAYER_PARTITION: 0,2 leaves a stage without layers"),
        ]
        for (counts, message) in cases {
            let group = CPUCommunicator.group(size: 2)
            #expect {
                _ = try ModelRegistry.load(config: config, directory: folder, backend: CPUBackend(),
                                           pipeline: PipelineStage(communicator: group[0], layerCounts: counts))
            } throws: { "\($0)".contains(message) }
        }
    }

    /// Each stage holds only its layers' K/V and only its end of the model.
    @Test func eachStageHoldsItsLayers() throws {
        guard let folder = Paths.sharedFolder("models/stories260K") else { return }
        let harness = try Harness(folder: folder, pipelineParallelSize: 3)
        let models = harness.runner.ranks.map { $0.model as! LlamaModel }
        #expect(models.map(\.layers.count) == [2, 2, 1])
        #expect(harness.runner.ranks.map(\.kvCaches.count) == [2, 2, 1])
        #expect(models.map { $0.embedTokens != nil } == [true, false, false])
        #expect(models.map { $0.head != nil } == [false, false, true])
        // K and V, 16 tokens a block, 4 KV heads of 8 values, f32 (the CPU backend's activation dtype).
        let bytesPerLayer: Int = 2 * 16 * 4 * 8 * 4
        #expect(models.map { $0.kvCacheBytesPerBlock(blockSize: 16) } == [2 * bytesPerLayer, 2 * bytesPerLayer, bytesPerLayer])
    }

    /// More stages than decoder layers is refused before any weight is read, naming the flag and both numbers.
    @Test func moreStagesThanLayersAreRefused() throws {
        let folder = Paths.goldens.appendingPathComponent("llama")
        let config = try ModelConfig.load(modelDirectory: folder)
        let group = CPUCommunicator.group(size: 3)
        #expect {
            _ = try ModelRegistry.load(config: config, directory: folder, backend: CPUBackend(), pipeline: PipelineStage(communicator: group[0]))
        } throws: { "\($0)".contains("--pipeline-parallel-size 3: the model has 2 hidden layers") }
    }
}
