/// The paged KV cache as requests see it: which blocks each request holds, and which prefix of a
/// new request is already cached (vLLM's `KVCacheManager` for one full-attention group).
public struct KVCacheManager: Sendable, Equatable {
    public private(set) var blockPool: BlockPool
    public let blockSize: Int
    public let maxModelLen: Int
    public var enablePrefixCaching: Bool { blockPool.enableCaching }
    public private(set) var prefixCacheStats = PrefixCacheStats()

    /// Block ids per request, in token order.
    private var requestBlocks: [String: [Int]] = [:]
    /// Leading blocks of each request already in the prefix cache.
    private var numCachedBlocks: [String: Int] = [:]

    public init(numGPUBlocks: Int, blockSize: Int, maxModelLen: Int, enablePrefixCaching: Bool = true) {
        precondition(blockSize > 0, "block size must be positive")
        blockPool = BlockPool(numGPUBlocks: numGPUBlocks, enableCaching: enablePrefixCaching)
        self.blockSize = blockSize
        self.maxModelLen = maxModelLen
    }

    /// Fraction of usable blocks in use, 0...1.
    public var usage: Double { blockPool.usage }
    public var numFreeBlocks: Int { blockPool.numFreeBlocks }
    /// Blocks a request may ever hold (all but the null block).
    public var numUsableBlocks: Int { blockPool.numGPUBlocks - 1 }

    public func blockIds(of requestId: String) -> [Int] { requestBlocks[requestId] ?? [] }

    /// The longest cached prefix of `request`, in whole blocks, never the whole sequence: at least
    /// one token is left to compute, so there are logits to sample from. Counts a query.
    public mutating func getComputedBlocks(_ request: inout Request) -> (blockIds: [Int], numComputedTokens: Int) {
        // Prompt logprobs need the logits of every prompt token, so such a request reads nothing.
        guard enablePrefixCaching, request.samplingParams.promptLogprobs == nil else { return ([], 0) }
        request.updateBlockHashes(blockSize: blockSize)
        let maxHitBlocks = (request.numTokens - 1) / blockSize
        var hits: [Int] = []
        for (index, hash) in request.blockHashes.prefix(maxHitBlocks).enumerated() {
            let tokens = request.allTokenIds[index * blockSize..<(index + 1) * blockSize]
            let parent = index == 0 ? request.rootBlockHash : request.blockHashes[index - 1]
            guard let id = blockPool.cachedBlock(for: hash, parentHash: parent, tokenIds: tokens) else { break }
            hits.append(id)
        }
        let numComputedTokens = hits.count * blockSize
        prefixCacheStats.record(numTokens: request.numTokens, numHits: numComputedTokens)
        return (hits, numComputedTokens)
    }

    /// Gives `request` room for `numNewTokens` more tokens after its computed ones (and after
    /// `numNewComputedTokens` prefix-cache hits held in `newComputedBlocks`, if it is new), and
    /// caches the blocks this fills. Returns the newly allocated block ids, or `nil` (changing
    /// nothing) when the free queue is too short.
    public mutating func allocateSlots(
        _ request: inout Request, numNewTokens: Int, numNewComputedTokens: Int = 0, newComputedBlocks: [Int] = []
    ) -> [Int]? {
        precondition(enablePrefixCaching || newComputedBlocks.isEmpty, "prefix hits with prefix caching off")
        let numComputedTokens = request.numComputedTokens + numNewComputedTokens
        let numTokensNeedingSlots = min(numComputedTokens + numNewTokens, maxModelLen)
        let held = requestBlocks[request.requestId] ?? []
        let numBlocksNeeded = ceilDiv(numTokensNeedingSlots, blockSize)
        let numNewBlocks = max(0, numBlocksNeeded - held.count - newComputedBlocks.count)
        // Hits sitting in the free queue leave it, so they count against its length too.
        let numEvictableHits = newComputedBlocks.filter { blockPool.blocks[$0].refCount == 0 }.count
        guard numNewBlocks + numEvictableHits <= blockPool.numFreeBlocks else { return nil }

        blockPool.touch(newComputedBlocks)
        let newBlocks = blockPool.getNewBlocks(numNewBlocks)
        requestBlocks[request.requestId] = held + newComputedBlocks + newBlocks

        if enablePrefixCaching {
            request.updateBlockHashes(blockSize: blockSize)
            let numFullBlocks = min(numComputedTokens + numNewTokens, request.numTokens) / blockSize
            let alreadyCached = numCachedBlocks[request.requestId] ?? 0
            blockPool.cacheFullBlocks(
                blockIds: requestBlocks[request.requestId] ?? [], numCachedBlocks: alreadyCached,
                numFullBlocks: numFullBlocks, blockHashes: request.blockHashes, tokenIds: request.allTokenIds,
                blockSize: blockSize, rootHash: request.rootBlockHash)
            numCachedBlocks[request.requestId] = max(alreadyCached, numFullBlocks)
        }
        return newBlocks
    }

    /// Makes `requestId`'s blocks cover its first `numTokens` positions, allocating what is missing, without caching
    /// any (the positions are not computed yet): a draft model writes its K/V there before the step that verifies the
    /// drafts is scheduled, and that step's `allocateSlots` then finds them held. Returns the request's block ids, or
    /// nil (changing nothing) when the free queue is too short.
    public mutating func reserveSlots(_ requestId: String, numTokens: Int) -> [Int]? {
        let held = requestBlocks[requestId] ?? []
        let numNewBlocks = max(0, ceilDiv(min(numTokens, maxModelLen), blockSize) - held.count)
        guard numNewBlocks <= blockPool.numFreeBlocks else { return nil }
        if numNewBlocks > 0 { requestBlocks[requestId] = held + blockPool.getNewBlocks(numNewBlocks) }
        return requestBlocks[requestId] ?? []
    }

    /// Releases every block of `request`, last block first, so its tail is evicted before its
    /// shared prefix.
    public mutating func free(_ requestId: String) {
        guard let held = requestBlocks.removeValue(forKey: requestId) else { return }
        numCachedBlocks[requestId] = nil
        blockPool.freeBlocks(held.reversed())
    }

    /// Forgets the prefix cache; only when no request holds blocks.
    public mutating func resetPrefixCache() -> Bool {
        let didReset = blockPool.resetPrefixCache()
        if didReset { prefixCacheStats.reset = true }
        return didReset
    }
}

/// Prefix-cache hit counters, in tokens (vLLM's `PrefixCacheStats`).
public struct PrefixCacheStats: Sendable, Equatable {
    /// Requests looked up.
    public var requests: Int = 0
    /// Tokens looked up.
    public var queries: Int = 0
    /// Tokens found.
    public var hits: Int = 0
    /// Set when the cache was reset since these were last read.
    public var reset: Bool = false

    public var hitRate: Double { queries == 0 ? 0 : Double(hits) / Double(queries) }

    mutating func record(numTokens: Int, numHits: Int) {
        requests += 1
        queries += numTokens
        hits += numHits
    }
}

func ceilDiv(_ a: Int, _ b: Int) -> Int { (a + b - 1) / b }
