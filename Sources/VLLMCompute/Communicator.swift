/// The collectives tensor parallelism needs, and the point-to-point transfers pipeline parallelism needs, over
/// the ranks of one group: each rank holds one `Communicator` on its own backend and calls the same collectives
/// in the same order from its own thread (a collective returns once queued on the rank's backend, as any op).
/// Implementations: the CPU backend's ranks in threads of one process (`CPUCommunicator`), NCCL on CUDA
/// (`NCCLCommunicator`, collectives only so far).
public protocol Communicator: AnyObject, Sendable {
    /// This rank's index in the group, 0 ..< size.
    var rank: Int { get }
    var size: Int { get }
    /// Sums `tensor` over the ranks in place: every rank ends with the same values.
    func allReduce(_ tensor: Tensor) throws
    /// Every rank's `input` side by side: `out`'s first `size · input.count` elements hold rank r's input at
    /// `r · input.count` (same dtype).
    func allGather(_ input: Tensor, out: Tensor) throws
    /// Rank `root`'s `tensor` copied into every other rank's `tensor` (same shape and dtype everywhere).
    func broadcast(_ tensor: Tensor, root: Int) throws
    /// `tensor`'s values to rank `peer`, which takes them with one `recv(_:from:)` into a tensor of the same
    /// element count and dtype. Sends from one rank to one peer arrive in the order they were sent.
    func send(_ tensor: Tensor, to peer: Int) throws
    /// The values of rank `peer`'s next `send(_:to:)` to this rank, written into `tensor`.
    func recv(_ tensor: Tensor, from peer: Int) throws
    /// Ends the group after a rank failed: collectives waiting on a peer, now or later, fail instead of
    /// hanging. Called on every rank's communicator; the group is unusable afterwards.
    func abort()
}

/// Which share of a model one instance holds under tensor parallelism, as vLLM (Megatron) splits it:
/// attention heads and the MLP's intermediate columns by rank, the vocabulary in contiguous ranges.
public struct TensorParallelRank: Sendable {
    public let rank: Int
    public let size: Int
    /// The group's collectives; nil for a single rank.
    public let communicator: (any Communicator)?

    /// The whole model on one rank.
    public static let single = TensorParallelRank(rank: 0, size: 1, communicator: nil)

    public init(communicator: any Communicator) {
        self.init(rank: communicator.rank, size: communicator.size, communicator: communicator)
    }

    private init(rank: Int, size: Int, communicator: (any Communicator)?) {
        self.rank = rank
        self.size = size
        self.communicator = communicator
    }

    /// This rank's part of `0 ..< count` split in `size` equal ranges (`count` divisible by `size`).
    public func share(of count: Int) -> Range<Int> {
        let each = count / size
        return rank * each ..< (rank + 1) * each
    }
}

/// Which stage of a pipeline one instance is (pipeline parallelism, as vLLM splits a model): a contiguous range of
/// the decoder layers (`partition`); the first stage also holds the token embedding, the last the final norm and
/// the lm_head. A stage hands its hidden states to the next through `communicator`.
public struct PipelineStage: Sendable {
    /// This stage's index, 0 ..< size.
    public let stage: Int
    public let size: Int
    /// The group of the ranks that hold this rank's tensor-parallel share in every stage (stage s is its rank s);
    /// nil for one stage.
    public let communicator: (any Communicator)?
    /// Each stage's number of layers where vLLM's `VLLM_PP_LAYER_PARTITION` sets them (checked by
    /// `ModelRegistry.checkPipeline`); nil: `partition`'s split.
    public let layerCounts: [Int]?

    /// The whole model in one stage.
    public static let single = PipelineStage(stage: 0, size: 1, communicator: nil, layerCounts: nil)

    public init(communicator: any Communicator, layerCounts: [Int]? = nil) {
        self.init(stage: communicator.rank, size: communicator.size, communicator: communicator, layerCounts: layerCounts)
    }

    private init(stage: Int, size: Int, communicator: (any Communicator)?, layerCounts: [Int]?) {
        self.stage = stage
        self.size = size
        self.communicator = communicator
        self.layerCounts = layerCounts
    }

    /// Whether this stage embeds the tokens (and takes the step's token ids).
    public var isFirst: Bool { stage == 0 }
    /// Whether this stage computes the logits (and its rank samples).
    public var isLast: Bool { stage == size - 1 }

    /// The decoder layers this stage holds, of a model of `numLayers`.
    public func layers(of numLayers: Int) -> Range<Int> {
        Self.partition(numLayers: numLayers, stages: size, layerCounts: layerCounts)[stage]
    }

    /// vLLM's split of `numLayers` decoder layers into `stages` contiguous ranges (`get_pp_indices` in
    /// vllm/distributed/utils.py): `layerCounts` in order where given (its VLLM_PP_LAYER_PARTITION), else
    /// `numLayers / stages` layers each, and the remainder one more each to the stages before the last, from the
    /// second-to-last backwards — so the last stage (the final norm and lm_head) never takes one, and the first (the
    /// embedding) only once every middle stage has.
    public static func partition(numLayers: Int, stages: Int, layerCounts: [Int]? = nil) -> [Range<Int>] {
        var counts = layerCounts ?? [Int](repeating: numLayers / stages, count: stages)
        if layerCounts == nil { for i in 0..<(numLayers % stages) { counts[stages - 2 - i] += 1 } }
        var start = 0
        return counts.map { count in
            defer { start += count }
            return start ..< start + count
        }
    }
}
