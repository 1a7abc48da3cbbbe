import Testing

@testable import VLLMCore

/// vLLM's tests/v1/core/test_prefix_caching.py, the single-group cases: the same calls, the same
/// block ids and free-queue orders asserted there.
@Suite struct PrefixCachingTests {
    func makeRequest(_ id: String, _ tokens: [Int], promptLogprobs: Int? = nil) -> Request {
        var params = SamplingParams()
        params.maxTokens = 17
        params.promptLogprobs = promptLogprobs
        return Request(requestId: id, promptTokenIds: tokens, samplingParams: params, eosTokenId: 100)
    }

    func makeManager(blockSize: Int = 16, numBlocks: Int = 11, caching: Bool = true) -> KVCacheManager {
        KVCacheManager(numGPUBlocks: numBlocks, blockSize: blockSize, maxModelLen: 8192, enablePrefixCaching: caching)
    }

    /// Three full blocks of 0s, 1s and 2s.
    let common = (0..<3).flatMap { Array(repeating: $0, count: 16) }

    @Test func prefill() {
        var manager = makeManager()
        var req0 = makeRequest("0", common + Array(repeating: 3, count: 7))
        let (hits0, computed0) = manager.getComputedBlocks(&req0)
        #expect(req0.blockHashes.count == 3)
        #expect(hits0.isEmpty && computed0 == 0)
        let r1 = manager.allocateSlots(&req0, numNewTokens: 55)
        #expect(r1 == [1, 2, 3, 4])

        // Full blocks carry their chained hash and one reference; the partial block has no hash.
        var parent: BlockHash? = nil
        for id in 1...3 {
            let hash = BlockHash(parent: parent, tokenIds: req0.allTokenIds[(id - 1) * 16..<id * 16])
            #expect(manager.blockPool.blocks[id].blockHash == hash)
            #expect(manager.blockPool.blocks[id].refCount == 1)
            parent = hash
        }
        #expect(manager.blockPool.blocks[4].blockHash == nil && manager.blockPool.blocks[4].refCount == 1)

        // A hit on the common prefix while its blocks are still in use.
        var req1 = makeRequest("1", common + Array(repeating: 3, count: 5))
        let (hits1, computed1) = manager.getComputedBlocks(&req1)
        #expect(hits1 == [1, 2, 3] && computed1 == 48)
        let r2 = manager.allocateSlots(&req1, numNewTokens: 5, numNewComputedTokens: 48, newComputedBlocks: hits1)
        #expect(r2 == [5])
        for id in hits1 { #expect(manager.blockPool.blocks[id].refCount == 2) }
        #expect(manager.numFreeBlocks == 5)

        manager.free("0")
        manager.free("1")
        #expect(manager.numFreeBlocks == 10)
        // Unhashed tails first (for reuse), then never-used blocks, then the cached prefix, tail first.
        #expect(manager.blockPool.freeBlockQueue.blockIds == [5, 4, 6, 7, 8, 9, 10, 3, 2, 1])

        // A hit on the common prefix when its blocks are free.
        var req2 = makeRequest("2", common + Array(repeating: 3, count: 6))
        let (hits2, computed2) = manager.getComputedBlocks(&req2)
        #expect(hits2 == [1, 2, 3] && computed2 == 48)
        let r3 = manager.allocateSlots(&req2, numNewTokens: 6, numNewComputedTokens: 48, newComputedBlocks: hits2)
        #expect(r3 == [5])
        #expect(manager.numFreeBlocks == 6)
        #expect(manager.blockPool.freeBlockQueue.blockIds.allSatisfy { manager.blockPool.blocks[$0].refCount == 0 })
        manager.free("2")

        // A miss that evicts everything: the allocation order is the eviction order.
        var req3 = makeRequest("3", Array(repeating: 99, count: 160))
        let r4 = manager.getComputedBlocks(&req3)
        #expect(r4.blockIds.isEmpty)
        let r5 = manager.allocateSlots(&req3, numNewTokens: 160)
        #expect(r5 == [5, 4, 6, 7, 8, 9, 10, 3, 2, 1])
        #expect(manager.numFreeBlocks == 0)
        #expect(manager.blockPool.freeBlockQueue.blockIds.isEmpty)
    }

    @Test func promptLogprobsRequestsReadNothingButStillCache() {
        var manager = makeManager()
        var req0 = makeRequest("0", common + Array(repeating: 3, count: 7), promptLogprobs: 5)
        let r6 = manager.getComputedBlocks(&req0)
        #expect(r6.blockIds.isEmpty)
        let r7 = manager.allocateSlots(&req0, numNewTokens: 55)
        #expect(r7 == [1, 2, 3, 4])
        let req0Hashes = (1...4).map { manager.blockPool.blocks[$0].blockHash }

        var req1 = makeRequest("1", common + Array(repeating: 3, count: 5))
        let (hits1, _) = manager.getComputedBlocks(&req1)
        #expect(hits1 == [1, 2, 3])
        let r8 = manager.allocateSlots(&req1, numNewTokens: 5, numNewComputedTokens: 48, newComputedBlocks: hits1)
        #expect(r8 == [5])
        manager.free("0")
        manager.free("1")
        #expect(manager.blockPool.freeBlockQueue.blockIds == [5, 4, 6, 7, 8, 9, 10, 3, 2, 1])

        // No hit; the same hashes are cached again on other blocks.
        var req2 = makeRequest("2", common + Array(repeating: 3, count: 6), promptLogprobs: 5)
        let r9 = manager.getComputedBlocks(&req2)
        #expect(r9.blockIds.isEmpty)
        let blocks2 = manager.allocateSlots(&req2, numNewTokens: 55) ?? []
        #expect(blocks2 != [1, 2, 3, 4])
        #expect(blocks2.map { manager.blockPool.blocks[$0].blockHash } == req0Hashes)
        for id in blocks2 { #expect(manager.blockPool.blocks[id].refCount == 1) }
        manager.free("2")
    }

    @Test func decode() {
        var manager = makeManager()
        var req0 = makeRequest("0", common + Array(repeating: 3, count: 7))
        _ = manager.getComputedBlocks(&req0)
        let r10 = manager.allocateSlots(&req0, numNewTokens: 55)
        #expect(r10 == [1, 2, 3, 4])

        // Four more tokens fit in the last block.
        req0.numComputedTokens = 55
        for _ in 0..<4 { req0.appendOutputTokenId(8) }
        let r11 = manager.allocateSlots(&req0, numNewTokens: 4)
        #expect(r11 == [])
        #expect(manager.blockPool.blocks[manager.blockIds(of: "0").last!].blockHash == nil)

        // Nine fill it, ten more need a new block; the filled block gets cached.
        req0.numComputedTokens = 59
        for _ in 0..<19 { req0.appendOutputTokenId(7) }
        let r12 = manager.allocateSlots(&req0, numNewTokens: 19)
        #expect(r12?.count == 1)
        let held = manager.blockIds(of: "0")
        #expect(manager.blockPool.blocks[held[held.count - 2]].blockHash != nil)
        #expect(manager.blockPool.blocks[held[held.count - 1]].blockHash == nil)
    }

    @Test func evict() {
        var manager = makeManager()
        var req0 = makeRequest("0", Array(0..<87))
        _ = manager.getComputedBlocks(&req0)
        let blocks0 = manager.allocateSlots(&req0, numNewTokens: 87)
        #expect(blocks0?.count == 6)  // 5 full + 1 partial
        var req1 = makeRequest("1", Array(87..<135))
        let r13 = manager.getComputedBlocks(&req1)
        #expect(r13.blockIds.isEmpty)
        let r14 = manager.allocateSlots(&req1, numNewTokens: 48)
        #expect(r14?.count == 3)
        #expect(manager.numFreeBlocks == 1)

        manager.free("0")
        #expect(manager.blockPool.freeBlockQueue.blockIds == [6, 10, 5, 4, 3, 2, 1])
        manager.free("1")
        #expect(manager.numFreeBlocks == 10)
        #expect(manager.blockPool.freeBlockQueue.blockIds == [6, 10, 5, 4, 3, 2, 1, 9, 8, 7])

        // Touch the first two blocks.
        var req2 = makeRequest("2", Array(0..<35))
        let (hits2, computed2) = manager.getComputedBlocks(&req2)
        #expect(hits2 == [1, 2] && computed2 == 32)
        let r15 = manager.allocateSlots(&req2, numNewTokens: 3, numNewComputedTokens: 32, newComputedBlocks: hits2)
        #expect(r15 == [6])
        #expect(manager.numFreeBlocks == 7)
    }

    @Test func hashOfAReusedBlockIsReset() {
        var manager = makeManager(numBlocks: 2)
        var req0 = makeRequest("0", Array(0..<16))
        _ = manager.getComputedBlocks(&req0)
        let r16 = manager.allocateSlots(&req0, numNewTokens: 16)
        #expect(r16?.count == 1)
        manager.free("0")

        var req1 = makeRequest("1", Array(0..<15))
        let r17 = manager.getComputedBlocks(&req1)
        #expect(r17.blockIds.isEmpty)
        let blocks = manager.allocateSlots(&req1, numNewTokens: 15) ?? []
        #expect(blocks.count == 1)
        #expect(manager.blockPool.blocks[blocks[0]].blockHash == nil)
        #expect(manager.blockPool.numCachedHashes == 0)
    }

    @Test func computedBlocksAreNotEvicted() {
        var manager = makeManager(numBlocks: 3)
        var req0 = makeRequest("0", Array(0..<16))
        _ = manager.getComputedBlocks(&req0)
        let r18 = manager.allocateSlots(&req0, numNewTokens: 16)
        #expect(r18 == [1])
        var req1 = makeRequest("1", Array(16..<32))
        _ = manager.getComputedBlocks(&req1)
        let r19 = manager.allocateSlots(&req1, numNewTokens: 16)
        #expect(r19 == [2])
        manager.free("0")
        manager.free("1")

        // A hit on block 1 evicts block 2, not the hit.
        var req2 = makeRequest("2", Array(0..<32))
        let (hits, computed) = manager.getComputedBlocks(&req2)
        #expect(hits == [1] && computed == 16)
        let r20 = manager.allocateSlots(&req2, numNewTokens: 16, numNewComputedTokens: 16, newComputedBlocks: hits)
        #expect(r20 == [2])
    }

    @Test func prefixCachingDisabled() {
        var manager = makeManager(blockSize: 4, numBlocks: 5, caching: false)
        var req1 = makeRequest("1", Array(0..<10))
        let r21 = manager.getComputedBlocks(&req1)
        #expect(r21.blockIds.isEmpty)
        let r22 = manager.allocateSlots(&req1, numNewTokens: 10)
        #expect(r22?.count == 3)
        manager.free("1")

        var req2 = makeRequest("2", Array(0..<16))
        let r23 = manager.getComputedBlocks(&req2)
        #expect(r23.blockIds.isEmpty)
        let r24 = manager.allocateSlots(&req2, numNewTokens: 16)
        #expect(r24?.count == 4)

        var req3 = makeRequest("3", Array(0..<4))
        let r25 = manager.getComputedBlocks(&req3)
        #expect(r25.blockIds.isEmpty)
        let r26 = manager.allocateSlots(&req3, numNewTokens: 4)
        #expect(r26 == nil)
    }

    @Test func neverTheWholePromptAndStatsCountTokens() {
        var manager = makeManager(blockSize: 4, numBlocks: 11)
        var req0 = makeRequest("0", Array(0..<8))
        _ = manager.getComputedBlocks(&req0)
        let r27 = manager.allocateSlots(&req0, numNewTokens: 8)
        #expect(r27 == [1, 2])
        // The same 8 tokens: only the first block may hit, so one token is left to compute.
        var req1 = makeRequest("1", Array(0..<8))
        let (hits, computed) = manager.getComputedBlocks(&req1)
        #expect(hits == [1] && computed == 4)
        #expect(manager.prefixCacheStats == PrefixCacheStats(requests: 2, queries: 16, hits: 4))
    }

    @Test func aHashCollisionIsNotAHit() {
        var manager = makeManager(blockSize: 4, numBlocks: 11)
        var req0 = makeRequest("0", Array(0..<9))
        _ = manager.getComputedBlocks(&req0)
        _ = manager.allocateSlots(&req0, numNewTokens: 9)
        // Same hashes, other tokens: as if every hash collided.
        var req1 = makeRequest("1", Array(100..<109))
        req1.blockHashes = req0.blockHashes
        let r28 = manager.getComputedBlocks(&req1)
        #expect(r28.blockIds.isEmpty)
    }

    @Test func resetPrefixCacheOnlyWhenNothingIsHeld() {
        var manager = makeManager(blockSize: 4, numBlocks: 11)
        var req0 = makeRequest("0", Array(0..<9))
        _ = manager.getComputedBlocks(&req0)
        _ = manager.allocateSlots(&req0, numNewTokens: 9)
        let r29 = manager.resetPrefixCache()
        #expect(!r29)
        manager.free("0")
        let r30 = manager.resetPrefixCache()
        #expect(r30)
        var req1 = makeRequest("1", Array(0..<9))
        let r31 = manager.getComputedBlocks(&req1)
        #expect(r31.blockIds.isEmpty)
    }
}
