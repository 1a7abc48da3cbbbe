import Foundation
import Testing
import VLLMCompute
import VLLMCPU
import VLLMEngine
import VLLMModels

/// Paths of the repo, its goldens, and ../shared.
enum Paths {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let goldens = repoRoot.appendingPathComponent("Tests/VLLMModelsTests/Goldens")
    static let shared = repoRoot.deletingLastPathComponent().appendingPathComponent("shared")

    /// A folder under ../shared, or nil with a visible skip message (a failure when CI=true).
    static func sharedFolder(_ relative: String) -> URL? {
        let url = shared.appendingPathComponent(relative)
        if FileManager.default.fileExists(atPath: url.path) { return url }
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            Issue.record("\(url.path) is missing and CI=true: ../shared must sit beside the repo")
        } else {
            print("SKIPPED: \(url.path) is absent (../shared not beside the repo)")
        }
        return nil
    }
}

/// What scripts/make_model_goldens.py recorded from transformers.
struct Golden: Decodable {
    struct Prompt: Decodable {
        var prompt_token_ids: [Int32]
        var last_logits: [Float]
        var greedy_token_ids: [Int32]
        var all_logits: [[Float]]?
    }
    var prompts: [Prompt]
    var all_positions_prompt: Int

    /// What the golden was made with (the quantized goldens name their reference tool).
    var tool: String?

    static func load(_ name: String) throws -> Golden {
        try JSONDecoder().decode(Golden.self, from: Data(contentsOf: Paths.goldens.appendingPathComponent("\(name)/golden.json")))
    }
}

/// max |a − b| / max |b|: the relative error the issue bounds.
func relativeError(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "lengths \(a.count) vs \(b.count)")
    let scale = b.map { abs($0) }.max() ?? 1
    return zip(a, b).map { abs($0 - $1) }.max()! / max(scale, 1e-30)
}

/// A model on the CPU backend with a paged cache, and a trivial block allocator that hands each
/// sequence deliberately scattered blocks (so block tables are never contiguous).
final class Harness {
    let runner: ModelRunner
    let blockSize: Int
    private var nextBlock: Int32
    private var blocks: [Int: [Int32]] = [:]

    /// `quantization`: as `--quantization` (checked against the folder's quantization_config).
    /// `kvCacheDType`: as `--kv-cache-dtype` (nil: f32). `tensorParallelSize` × `pipelineParallelSize`: CPU ranks, each
    /// its own backend holding its shard of its stage's layers, joined by `CPUCommunicator` groups (vLLM's rank order);
    /// `layerCounts`: each stage's layers, as VLLM_PP_LAYER_PARTITION gives them (nil: the even split).
    init(folder: URL, blockSize: Int = 4, numBlocks: Int = 256, maxTokens: Int = 512, quantization: String? = nil,
         kvCacheDType: DType? = nil, tensorParallelSize: Int = 1, pipelineParallelSize: Int = 1, layerCounts: [Int]? = nil) throws {
        var config = try ModelConfig.load(modelDirectory: folder)
        config.quantization = try QuantizationConfig.resolve(checkpoint: config.quantization, flag: quantization)
        let numRanks = tensorParallelSize * pipelineParallelSize
        let devices = EngineDevices(backends: (0..<numRanks).map { _ in CPUBackend() }, tensorParallelSize: tensorParallelSize,
                                    pipelineParallelSize: pipelineParallelSize, makeGroup: { CPUCommunicator.group(size: $0.count) })
        let models = try (0..<numRanks).map { rank in
            try ModelRegistry.load(config: config, directory: folder, backend: devices.backends[rank], kvCacheDType: kvCacheDType,
                                   parallel: devices.tensorParallelRank(rank),
                                   pipeline: devices.pipelineStage(rank, layerCounts: layerCounts))
        }
        runner = try ModelRunner(models: models, numBlocks: numBlocks, blockSize: blockSize, maxNumBatchedTokens: maxTokens, maxNumSeqs: 64)
        self.blockSize = blockSize
        nextBlock = Int32(numBlocks - 1)
    }

    /// Blocks of sequence `id`, grown to hold `length` tokens (taken from the top of the pool downwards).
    func blocks(for id: Int, length: Int) -> [Int32] {
        var table = blocks[id, default: []]
        while table.count * blockSize < length {
            table.append(nextBlock)
            nextBlock -= 1
        }
        blocks[id] = table
        return table
    }

    static let greedy: SamplingRow = { var row = SamplingRow(); row.temperature = 0; return row }()

    /// Feeds `prompt` as sequence 0 in chunks of 5 tokens (chunked prefill through the paged cache) and expects every
    /// position's logits (the prompt-logprobs path) within 1e-4 of `expected`'s row; `label` names the layout in a failure.
    func expectEveryPosition(_ prompt: [Int32], matches expected: [[Float]], label: String,
                             sourceLocation: SourceLocation = #_sourceLocation) throws {
        var computed = 0
        while computed < prompt.count {
            let n = min(5, prompt.count - computed)
            let step = StepSequence(tokenIds: Array(prompt[computed..<(computed + n)]), numComputedTokens: computed,
                                    blockIds: blocks(for: 0, length: computed + n), sampling: Harness.greedy)
            for (j, row) in try runner.logitsOfEveryToken([step]).enumerated() {
                let error = relativeError(row, expected[computed + j])
                #expect(error <= 1e-4, "\(label), position \(computed + j): relative error \(error)", sourceLocation: sourceLocation)
            }
            computed += n
        }
    }

    /// Runs prompts as one batch (optionally in chunks of `chunk` tokens), then decodes them together
    /// for `numNewTokens` greedy tokens. Returns the last-prompt-position logits and the tokens.
    func generate(_ prompts: [[Int32]], numNewTokens: Int, chunk: Int? = nil) throws -> (logits: [[Float]], tokens: [[Int32]]) {
        var computed = [Int](repeating: 0, count: prompts.count)
        var lastLogits = [[Float]](repeating: [], count: prompts.count)
        // Prefill, possibly in chunks; every sequence advances by up to `chunk` tokens per step.
        while zip(computed, prompts).contains(where: { $0 < $1.count }) {
            var step: [StepSequence] = [], ids: [Int] = []
            for (i, prompt) in prompts.enumerated() where computed[i] < prompt.count {
                let n = min(chunk ?? prompt.count, prompt.count - computed[i])
                let done = computed[i] + n == prompt.count
                step.append(StepSequence(tokenIds: Array(prompt[computed[i]..<(computed[i] + n)]), numComputedTokens: computed[i],
                                         blockIds: blocks(for: i, length: computed[i] + n), sampling: done ? Self.greedy : nil))
                ids.append(i)
                computed[i] += n
            }
            let logits = try runner.logits(step)
            for (row, i) in ids.filter({ computed[$0] == prompts[$0].count && step[ids.firstIndex(of: $0)!].sampling != nil }).enumerated() {
                lastLogits[i] = logits[row]
            }
        }
        var tokens = lastLogits.map { [Self.argmax($0)] }
        while tokens[0].count < numNewTokens {
            let step = prompts.indices.map { i in
                let length = prompts[i].count + tokens[i].count
                return StepSequence(tokenIds: [tokens[i].last!], numComputedTokens: length - 1,
                                    blockIds: blocks(for: i, length: length), sampling: Self.greedy)
            }
            let sampled = try runner.execute(step).tokenIds
            for i in prompts.indices { tokens[i].append(sampled[i]) }
        }
        return (lastLogits, tokens)
    }

    /// Lowest index wins ties, as torch.argmax.
    static func argmax(_ values: [Float]) -> Int32 {
        var best = 0
        for i in values.indices where values[i] > values[best] { best = i }
        return Int32(best)
    }
}
