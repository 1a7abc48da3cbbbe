import FoundationEssentials
import VLLMCompute
import VLLMModels

/// A decoder (Llama, Qwen2, Qwen3 — Qwen3-Embedding's architecture) as an embedding model: whole sequences
/// through the causal forward, with a KV cache of its own that each batch fills from the start (nothing is
/// kept or shared between batches), and their final hidden states handed to the pooling (last token, as
/// vLLM's default for decoder embedding models).
final class DecoderEncoder: EncoderModel, @unchecked Sendable {
    // @unchecked: driven by one thread at a time (the embedding engine's loop, or a caller of embedNow).
    let config: EncoderConfig
    var backend: any Backend { runner.model.backend }
    var head: ClassificationHead? { nil }
    private let runner: ModelRunner

    init(model: any CausalLM, maxNumBatchedTokens: Int, maxNumSeqs: Int, blockSize: Int = 16) throws {
        config = EncoderConfig(decoder: model.config,
                               maxSequenceLength: min(model.config.derivedMaxModelLen, maxNumBatchedTokens))
        // Every sequence of a full batch: its tokens' blocks, one partial block each, and the null block 0.
        let numBlocks = maxNumBatchedTokens / blockSize + maxNumSeqs + 1
        runner = try ModelRunner(model: model, numBlocks: numBlocks, blockSize: blockSize,
                                 maxNumBatchedTokens: maxNumBatchedTokens, maxNumSeqs: maxNumSeqs, enforceEager: true)
    }

    func encode(_ sequences: [[Int32]], tokenTypes: [[Int32]]?) throws -> Tensor {
        var next: Int32 = 1, steps: [StepSequence] = []
        for sequence in sequences {
            let blocks = (sequence.count + runner.blockSize - 1) / runner.blockSize
            steps.append(StepSequence(tokenIds: sequence, numComputedTokens: 0, blockIds: Array(next..<next + Int32(blocks)),
                                      sampling: nil))
            next += Int32(blocks)
        }
        return try runner.finalHiddenStates(steps)
    }
}

extension ModelRunner {
    /// Runs one step of whole sequences and returns the final hidden states of all its tokens [T, H] (a view
    /// into the workspace, valid until the next step).
    func finalHiddenStates(_ sequences: [StepSequence]) throws -> Tensor {
        _ = try forward(sequences)
        return model.finalHiddenStates(tokens: sequences.reduce(0) { $0 + $1.tokenIds.count }, workspace: workspace)
    }
}
