/// Every block of the KV cache, the free queue in eviction order, and the prefix cache's index
/// from block hash to cached block (vLLM's `BlockPool`).
///
/// Block 0 is the null block, as in vLLM: never handed out, so a block table or slot mapping can
/// be padded with it, and block ids match vLLM's for the same sequence of calls.
public struct BlockPool: Sendable, Equatable {
    public static let nullBlockId = 0

    public private(set) var blocks: [KVCacheBlock]
    public private(set) var freeBlockQueue: FreeKVCacheBlockQueue
    public let enableCaching: Bool
    /// Blocks cached under each hash, oldest first. Equal blocks are not de-duplicated, so that a
    /// request's block table only ever grows (vLLM's NOTE #1 on `BlockHashToBlockMap`).
    private var cachedBlockHashToBlock: [BlockHash: [Int]] = [:]

    /// A pool of `numGPUBlocks` blocks, `numGPUBlocks - 1` of them usable.
    public init(numGPUBlocks: Int, enableCaching: Bool) {
        precondition(numGPUBlocks > 1, "a block pool needs at least 2 blocks (one is the null block)")
        blocks = (0..<numGPUBlocks).map(KVCacheBlock.init(blockId:))
        freeBlockQueue = FreeKVCacheBlockQueue(numBlocks: numGPUBlocks, blockIds: Array(1..<numGPUBlocks))
        self.enableCaching = enableCaching
    }

    public var numGPUBlocks: Int { blocks.count }
    public var numFreeBlocks: Int { freeBlockQueue.numFreeBlocks }
    /// Fraction of usable blocks in use, 0...1 (cached free blocks count as free).
    public var usage: Double { 1 - Double(numFreeBlocks) / Double(numGPUBlocks - 1) }
    /// Number of distinct hashes in the prefix cache.
    public var numCachedHashes: Int { cachedBlockHashToBlock.count }

    /// The first cached block under `hash` whose parent hash and tokens are exactly these.
    public func cachedBlock(for hash: BlockHash, parentHash: BlockHash?, tokenIds: ArraySlice<Int>) -> Int? {
        cachedBlockHashToBlock[hash]?.first { id in
            blocks[id].cachedContent.map { $0.parentHash == parentHash && $0.tokenIds.elementsEqual(tokenIds) } ?? false
        }
    }

    /// Caches `blockIds[numCachedBlocks..<numFullBlocks]`, now full, under `blockHashes` (one per
    /// block of `tokenIds`; the first block's parent is `rootHash`). Blocks that are already cached (prefix hits)
    /// are left as they are.
    public mutating func cacheFullBlocks(
        blockIds: [Int], numCachedBlocks: Int, numFullBlocks: Int, blockHashes: [BlockHash], tokenIds: [Int],
        blockSize: Int, rootHash: BlockHash? = nil
    ) {
        guard numCachedBlocks < numFullBlocks else { return }
        precondition(blockHashes.count >= numFullBlocks, "block hashes not computed for every full block")
        for index in numCachedBlocks..<numFullBlocks {
            let id = blockIds[index]
            if let existing = blocks[id].blockHash {
                precondition(existing == blockHashes[index], "cached block \(id) has the wrong hash for its position")
                continue
            }
            let hash = blockHashes[index]
            blocks[id].blockHash = hash
            blocks[id].cachedContent = .init(
                parentHash: index == 0 ? rootHash : blockHashes[index - 1],
                tokenIds: tokenIds[index * blockSize..<(index + 1) * blockSize])
            cachedBlockHashToBlock[hash, default: []].append(id)
        }
    }

    /// Takes `count` blocks from the front of the free queue, evicting any cached ones.
    /// Needs `count <= numFreeBlocks`.
    public mutating func getNewBlocks(_ count: Int) -> [Int] {
        let ids = freeBlockQueue.popFront(count)
        for id in ids {
            if enableCaching { evictCachedBlock(id) }
            precondition(blocks[id].refCount == 0, "free block \(id) has references")
            blocks[id].refCount = 1
        }
        return ids
    }

    /// One more reference to each block (a prefix hit); a block in the free queue leaves it.
    public mutating func touch(_ blockIds: [Int]) {
        for id in blockIds {
            if blocks[id].refCount == 0 { freeBlockQueue.remove(id) }
            blocks[id].refCount += 1
        }
    }

    /// One reference less to each block; those now unused return to the free queue. Blocks given
    /// first are evicted first. With caching on, unhashed blocks (never a hit) go to the front for
    /// immediate reuse and cached ones to the back, least recently used first.
    public mutating func freeBlocks(_ orderedBlockIds: [Int]) {
        var fresh: [Int] = []
        var cached: [Int] = []
        for id in orderedBlockIds {
            precondition(blocks[id].refCount > 0, "freeing block \(id) with no references")
            blocks[id].refCount -= 1
            guard blocks[id].refCount == 0 else { continue }
            if enableCaching && blocks[id].blockHash == nil { fresh.append(id) } else { cached.append(id) }
        }
        freeBlockQueue.prepend(fresh)
        freeBlockQueue.append(cached)
    }

    /// Forgets every cached block, so nothing hits; only when no block is in use.
    /// Returns false (and changes nothing) otherwise, as vLLM does.
    public mutating func resetPrefixCache() -> Bool {
        guard numFreeBlocks == numGPUBlocks - 1 else { return false }
        cachedBlockHashToBlock = [:]
        for id in blocks.indices {
            blocks[id].blockHash = nil
            blocks[id].cachedContent = nil
        }
        return true
    }

    private mutating func evictCachedBlock(_ id: Int) {
        guard let hash = blocks[id].blockHash else { return }
        if var ids = cachedBlockHashToBlock[hash], let position = ids.firstIndex(of: id) {
            ids.remove(at: position)
            cachedBlockHashToBlock[hash] = ids.isEmpty ? nil : ids
        }
        blocks[id].blockHash = nil
        blocks[id].cachedContent = nil
    }
}
