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

extension AttentionMetadata {
    /// The host side of the decodes-first split, from a step's query start offsets (decodes first, as the
    /// runner orders them): how many leading sequences feed one token, and — when the step also holds
    /// longer queries — the rest's query start offsets counted from the first of them.
    public static func decodeSplit(queryStart: [Int32]) -> (numDecodes: Int, prefillQueryStart: [Int32]?) {
        let numSeqs = queryStart.count - 1
        let numDecodes = (0..<numSeqs).prefix { queryStart[$0 + 1] - queryStart[$0] == 1 }.count
        guard numDecodes > 0 && numDecodes < numSeqs else { return (numDecodes, nil) }
        return (numDecodes, queryStart[numDecodes...].map { $0 - Int32(numDecodes) })
    }

    /// A step that mixes decodes (first) with longer queries as two steps of their own — the decodes, and
    /// the rest over rows `numDecodes…` of query and out — or nil when it does not mix them.
    public func splitAtDecodes() -> (decodes: AttentionMetadata, rest: AttentionMetadata)? {
        guard let restQueryStart = prefillQueryStartLoc else { return nil }
        var decodes = self, rest = self
        decodes.numTokens = numDecodes
        decodes.numSeqs = numDecodes
        decodes.maxQueryLen = 1
        decodes.queryStartLoc = queryStartLoc.rows(0..<numDecodes + 1)
        decodes.seqLens = seqLens.rows(0..<numDecodes)
        decodes.blockTables = blockTables.rows(0..<numDecodes)
        decodes.prefillQueryStartLoc = nil
        rest.numTokens = numTokens - numDecodes
        rest.numSeqs = numSeqs - numDecodes
        rest.numDecodes = 0
        rest.queryStartLoc = restQueryStart
        rest.seqLens = seqLens.rows(numDecodes..<numSeqs)
        rest.blockTables = blockTables.rows(numDecodes..<numSeqs)
        rest.prefillQueryStartLoc = nil
        return (decodes, rest)
    }
}

/// One layer's paged K/V cache. Block `b` holds the keys of `blockSize` consecutive token slots.
public struct PagedKVCache: Sendable {
    public var key: Tensor    // [numBlocks, blockSize, numKVHeads, headSize]
    public var value: Tensor  // [numBlocks, blockSize, numKVHeads, headSize]
    /// An fp8 cache's scales (vLLM's k_scale / v_scale): a value is stored as fp8(x / scale) and read back as
    /// fp8 · scale. 1 unless the checkpoint has them; unused by caches of the activation dtype.
    public var keyScale: Float
    public var valueScale: Float

    public init(key: Tensor, value: Tensor, keyScale: Float = 1, valueScale: Float = 1) {
        precondition(key.shape == value.shape && key.rank == 4 && key.dtype == value.dtype,
                     "K/V cache shapes \(key.shape) / \(value.shape)")
        self.key = key
        self.value = value
        self.keyScale = keyScale
        self.valueScale = valueScale
    }

    /// Whether the cache holds fp8 values (`--kv-cache-dtype fp8…`).
    public var isFloat8: Bool { key.dtype.float8Format != nil }

    public var numBlocks: Int { key.shape[0] }
    public var blockSize: Int { key.shape[1] }
    public var numKVHeads: Int { key.shape[2] }
    public var headSize: Int { key.shape[3] }
}
