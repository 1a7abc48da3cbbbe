import VLLMCompute

/// A decoder-only language model the engine can run: the inputs of one step go in, logits of the
/// requested rows come out. Implementations hold their weights on one backend.
public protocol CausalLM: AnyObject, Sendable {
    var config: ModelConfig { get }
    var backend: any Backend { get }
    /// Which share of the model this instance holds (`.single`: all of it).
    var tensorParallel: TensorParallelRank { get }
    /// Which pipeline stage this instance is: the decoder layers it holds (`.single`: all of them).
    var pipelineStage: PipelineStage { get }
    /// Bytes of K/V cache one block of `blockSize` tokens takes over the layers this instance holds.
    func kvCacheBytesPerBlock(blockSize: Int) -> Int
    /// One paged K/V cache per layer this instance holds.
    func makeKVCaches(numBlocks: Int, blockSize: Int) throws -> [PagedKVCache]
    /// Activation buffers for steps of up to `maxNumTokens` tokens and `maxNumSeqs` logits rows,
    /// allocated once and reused by every step.
    func makeWorkspace(maxNumTokens: Int, maxNumSeqs: Int) throws -> ForwardWorkspace
    /// Runs one step; returns logits [S, V] f32 for the rows `input.logitsIndices` names
    /// (a view into the workspace, valid until the next forward). A pipeline stage before the last returns nil: it
    /// sends its hidden states on to the next stage (and every stage after the first receives them first).
    func forward(_ input: ForwardInput, kvCaches: [PagedKVCache], workspace: ForwardWorkspace) throws -> Tensor?
    /// Logits [S, V] f32 of more rows of the last `forward` (token indices of its batch, S ≤ maxNumSeqs),
    /// from its final hidden states: prompt logprobs. A view into the workspace, valid until the next call. The last
    /// pipeline stage's only.
    func logits(rows: Tensor, workspace: ForwardWorkspace) throws -> Tensor
    /// The last `forward`'s final hidden states (after the last norm) of its first `tokens` tokens [T, H]:
    /// what an embedding model pools. A view into the workspace, valid until the next call.
    func finalHiddenStates(tokens: Int, workspace: ForwardWorkspace) -> Tensor
    /// The adapters it holds at once (`ModelRegistry.load`'s `lora`); nil where it was loaded without LoRA.
    var loraCapacity: LoRACapacity? { get }
    /// Puts `adapter` (nil: none) in `slot` of every adapted linear, queued in order with the steps.
    func setLoRA(_ adapter: LoRAAdapter?, slot: Int) throws
}

extension CausalLM {
    public var loraCapacity: LoRACapacity? { nil }
    public func setLoRA(_ adapter: LoRAAdapter?, slot: Int) throws {
        throw ModelError("this model was loaded without LoRA slots")
    }
}

/// The flat inputs of one step (see AttentionMetadata for how sequences are laid out).
public struct ForwardInput: Sendable {
    public var tokenIds: Tensor       // [T] int32
    public var positions: Tensor      // [T] int32
    public var attention: AttentionMetadata
    public var logitsIndices: Tensor  // [S] int32, rows of the batch whose logits are wanted, increasing
    /// Each token's adapter slot, where the model holds adapters (multi-LoRA).
    public var lora: LoRAMapping?

    public init(tokenIds: Tensor, positions: Tensor, attention: AttentionMetadata, logitsIndices: Tensor, lora: LoRAMapping? = nil) {
        self.lora = lora
        self.tokenIds = tokenIds
        self.positions = positions
        self.attention = attention
        self.logitsIndices = logitsIndices
    }
}

/// Activation buffers sized once for the largest step; each step uses their first rows.
public final class ForwardWorkspace: @unchecked Sendable {
    // @unchecked: owned by the one thread that runs the model; never shared between steps in flight.
    public let maxNumTokens: Int
    public let maxNumSeqs: Int
    let buffers: [String: Tensor]

    init(maxNumTokens: Int, maxNumSeqs: Int, buffers: [String: Tensor]) {
        self.maxNumTokens = maxNumTokens
        self.maxNumSeqs = maxNumSeqs
        self.buffers = buffers
    }

    /// The first `rows` rows of buffer `name`.
    func take(_ name: String, rows: Int) -> Tensor { buffers[name]!.rows(0..<rows) }
}
