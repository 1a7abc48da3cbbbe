/// Each sequence's physical KV-cache blocks, in order (vLLM's block table): the one place that says
/// where a token's K/V lives. Position `p` of sequence `s` is slot
/// `rows[s][p / blockSize] * blockSize + p % blockSize` of the cache viewed as
/// `[numBlocks · blockSize, numKVHeads · headSize]`.
public struct BlockTable: Sendable, Equatable {
    public let blockSize: Int
    /// Physical block ids per sequence; a row covers at least that sequence's context.
    public var rows: [[Int32]]

    public init(blockSize: Int, rows: [[Int32]] = []) {
        self.blockSize = blockSize
        self.rows = rows
    }

    /// The cache slot of position `position` of sequence `sequence`.
    public func slot(sequence: Int, position: Int) -> Int32 {
        rows[sequence][position / blockSize] * Int32(blockSize) + Int32(position % blockSize)
    }

    /// Blocks a context of `numTokens` tokens needs.
    public func numBlocks(forTokens numTokens: Int) -> Int { (numTokens + blockSize - 1) / blockSize }

    /// The rows padded with block 0 (the null block) to the longest: `AttentionMetadata.blockTables`,
    /// [numSeqs, maxBlocksPerSeq] int32.
    /// `width` and `numRows` give the fixed shape a recorded decode graph reads: rows padded with block 0 to
    /// `numRows`, each cut or padded to `width` blocks (a caller passes a width that covers every
    /// sequence's context; blocks held past it are never read).
    public func padded(width: Int? = nil, numRows: Int? = nil) -> (values: [Int32], shape: [Int]) {
        let width = width ?? max(1, rows.map(\.count).max() ?? 1), numRows = numRows ?? rows.count
        precondition(numRows >= rows.count, "padding a block table of \(rows.count) rows to \(numRows)")
        var values: [Int32] = []
        values.reserveCapacity(numRows * width)
        for row in rows { values += row.prefix(width) + [Int32](repeating: 0, count: max(0, width - row.count)) }
        values += [Int32](repeating: 0, count: (numRows - rows.count) * width)
        return (values, [numRows, width])
    }
}
