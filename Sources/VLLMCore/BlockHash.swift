/// The prefix-cache key of one full block: a 64-bit hash chained over the parent block's hash and
/// this block's token ids, so equal keys mean (barring a collision) equal whole prefixes.
///
/// A hit is confirmed against the cached block's own token ids and parent hash (see
/// `KVCacheBlock.cachedContent`), so a collision can only match a block whose tokens are the same
/// and whose parent chain hashes the same.
public struct BlockHash: Hashable, Sendable, CustomStringConvertible {
    public let value: UInt64

    public init(value: UInt64) { self.value = value }

    /// FNV-1a-style absorption with SplitMix64 finalization per token: cheap, and every bit of
    /// every token reaches every bit of the result.
    public init(parent: BlockHash?, tokenIds: ArraySlice<Int>) {
        var h: UInt64 = parent.map { $0.value } ?? 0x6A09_E667_F3BC_C908  // no parent: a fixed seed
        for token in tokenIds {
            h = Self.mix((h ^ UInt64(bitPattern: Int64(token))) &* 0x0000_0100_0000_01B3)
        }
        value = Self.mix(h ^ UInt64(tokenIds.count))
    }

    /// The parent of a sequence's first block where its KV depends on more than its tokens: an adapter's name.
    public init(root key: String) {
        value = Self.mix(key.utf8.reduce(0x243F_6A88_85A3_08D3) { Self.mix($0 ^ UInt64($1)) })
    }

    private static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public var description: String { "BlockHash(\(String(value, radix: 16)))" }
}
