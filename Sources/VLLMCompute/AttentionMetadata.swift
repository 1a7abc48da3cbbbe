/// Per-step attention inputs for one flattened batch that mixes prefill chunks and decode tokens.
///
/// Sequence `s` contributes the tokens `queryStartLoc[s] ..< queryStartLoc[s+1]` of the batch.
/// They are the *last* `queryLen` tokens of its context of `seqLens[s]` tokens, so the query token
/// `j` of that sequence sits at position `seqLens[s] - queryLen + j` and attends causally to the
/// keys at positions `0 ... that position`, read from the paged cache through `blockTables[s]`.
/// There is no prefill or decode mode: a decode is simply a sequence with `queryLen == 1`.
public struct AttentionMetadata: Sendable {
    public var numTokens: Int
    public var numSeqs: Int
    /// Longest query (new tokens) of any sequence in this step.
    public var maxQueryLen: Int
    /// Longest context (cached + new tokens) of any sequence in this step.
    public var maxSeqLen: Int
    public var blockSize: Int
    /// The leading sequences that feed one token each (decodes come first in a step), so a backend may
    /// run them and the rest through different kernels. 0 when unknown.
    public var numDecodes: Int
    public var queryStartLoc: Tensor  // [numSeqs + 1] int32, queryStartLoc[0] == 0
    public var seqLens: Tensor        // [numSeqs] int32
    public var blockTables: Tensor    // [numSeqs, maxBlocksPerSeq] int32, physical block ids
    public var slotMapping: Tensor    // [numTokens] int32, blockId * blockSize + offset of each new token
    /// When the step mixes decodes with longer queries (0 < numDecodes < numSeqs): the query start offsets
    /// of the sequences after the decodes, counted from the first of them — [numSeqs − numDecodes + 1] int32 —
    /// so those sequences can run as a step of their own over rows numDecodes… of query and out.
    public var prefillQueryStartLoc: Tensor?

    public init(numTokens: Int, numSeqs: Int, maxQueryLen: Int, maxSeqLen: Int, blockSize: Int, numDecodes: Int = 0,
                queryStartLoc: Tensor, seqLens: Tensor, blockTables: Tensor, slotMapping: Tensor,
                prefillQueryStartLoc: Tensor? = nil) {
        self.numDecodes = numDecodes
        self.prefillQueryStartLoc = prefillQueryStartLoc
        self.numTokens = numTokens
        self.numSeqs = numSeqs
        self.maxQueryLen = maxQueryLen
        self.maxSeqLen = maxSeqLen
        self.blockSize = blockSize
        self.queryStartLoc = queryStartLoc
        self.seqLens = seqLens
        self.blockTables = blockTables
        self.slotMapping = slotMapping
    }
}

/// One layer's paged K/V cache. Block `b` holds the keys of `blockSize` consecutive token slots.
public struct PagedKVCache: Sendable {
    public var key: Tensor    // [numBlocks, blockSize, numKVHeads, headSize]
    public var value: Tensor  // [numBlocks, blockSize, numKVHeads, headSize]

    public init(key: Tensor, value: Tensor) {
        precondition(key.shape == value.shape && key.rank == 4, "K/V cache shapes \(key.shape) / \(value.shape)")
        self.key = key
        self.value = value
    }

    public var numBlocks: Int { key.shape[0] }
    public var blockSize: Int { key.shape[1] }
    public var numKVHeads: Int { key.shape[2] }
    public var headSize: Int { key.shape[3] }
}
