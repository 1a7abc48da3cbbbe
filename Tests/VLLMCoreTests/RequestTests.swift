import Testing

@testable import VLLMCore

@Suite struct RequestTests {
    @Test func minTokensBansEOSAndStopTokens() {
        var p = SamplingParams()
        p.minTokens = 2
        p.stopTokenIds = [7, 8]
        var r = Request(requestId: "a", promptTokenIds: [1], samplingParams: p, eosTokenId: 2)
        #expect(r.tokenIdsBannedByMinTokens == [7, 8, 2])
        r.appendOutputTokenId(5)
        r.appendOutputTokenId(6)
        #expect(r.tokenIdsBannedByMinTokens.isEmpty)
        p.ignoreEos = true
        #expect(
            Request(requestId: "b", promptTokenIds: [1], samplingParams: p, eosTokenId: 2).tokenIdsBannedByMinTokens
                == [7, 8])
    }

    @Test func badWordsBanTheTokenThatWouldCompleteThem() {
        // As vLLM's bad-words processor: a one-token word is always banned; a longer one only
        // right after its other tokens.
        var p = SamplingParams()
        p.badWordsTokenIds = [[9], [3, 4], [5, 6, 7]]
        var r = Request(requestId: "a", promptTokenIds: [3], samplingParams: p)
        #expect(r.tokenIdsBannedByBadWords == [9])
        r.appendOutputTokenId(3)
        #expect(r.tokenIdsBannedByBadWords == [9, 4])
        r.appendOutputTokenId(5)
        r.appendOutputTokenId(6)
        #expect(r.bannedTokenIds == [9, 7])
    }

    @Test func blockHashesChainOverFullBlocks() {
        var r = Request(requestId: "a", promptTokenIds: Array(0..<9))
        r.updateBlockHashes(blockSize: 4)
        #expect(r.blockHashes.count == 2)
        #expect(r.blockHashes[1] == BlockHash(parent: r.blockHashes[0], tokenIds: [4, 5, 6, 7][...]))
        #expect(r.blockHashes[1] != BlockHash(parent: nil, tokenIds: [4, 5, 6, 7][...]))
        for t in 9..<12 { r.appendOutputTokenId(t) }
        r.updateBlockHashes(blockSize: 4)
        #expect(r.blockHashes.count == 3)
    }

    @Test func kvCacheMemoryToBlocks() {
        // 2 (K and V) × 2 layers × 16 tokens × 4 heads × 64 dims × 2 bytes = 32 KiB per block.
        #expect(
            SchedulerConfig.numBlocks(
                kvCacheMemory: 1 << 20, blockSize: 16, numLayers: 2, numKVHeads: 4, headSize: 64, bytesPerElement: 2)
                == 32)
    }
}
