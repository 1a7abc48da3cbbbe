/// One fixed-size block of the paged KV cache, as the pool sees it (vLLM's `KVCacheBlock`).
public struct KVCacheBlock: Sendable, Equatable {
    public let blockId: Int
    /// Requests using this block; 0 means it sits in the free queue (and may still be a cache hit).
    public internal(set) var refCount: Int = 0
    /// Set once the block is full and cached; cleared when it is evicted.
    public internal(set) var blockHash: BlockHash? = nil
    /// What `blockHash` stands for, kept to confirm a hit exactly.
    var cachedContent: CachedContent? = nil

    public init(blockId: Int) { self.blockId = blockId }

    /// The full key behind a block's hash: its parent's hash and its own tokens.
    struct CachedContent: Sendable, Equatable {
        var parentHash: BlockHash?
        var tokenIds: ArraySlice<Int>
    }
}
