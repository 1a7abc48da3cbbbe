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
    public func padded() -> (values: [Int32], shape: [Int]) {
        let width = max(1, rows.map(\.count).max() ?? 1)
        var values: [Int32] = []
        values.reserveCapacity(rows.count * width)
        for row in rows { values += row + [Int32](repeating: 0, count: width - row.count) }
        return (values, [rows.count, width])
    }
}
