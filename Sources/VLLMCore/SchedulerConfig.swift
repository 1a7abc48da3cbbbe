/// The scheduler's and KV cache's sizes, as vLLM's `SchedulerConfig` and `CacheConfig` name them.
public struct SchedulerConfig: Sendable, Equatable {
    /// Token budget of one step (`--max-num-batched-tokens`).
    public var maxNumBatchedTokens: Int
    /// Requests in one step (`--max-num-seqs`).
    public var maxNumSeqs: Int
    /// Longest sequence, prompt plus output (`--max-model-len`).
    public var maxModelLen: Int
    /// Tokens per KV block (`--block-size`).
    public var blockSize: Int
    /// Blocks in the KV cache (`--num-gpu-blocks-override`, or from the memory left after weights).
    public var numGPUBlocks: Int
    /// Prefix caching (`--no-enable-prefix-caching` turns it off).
    public var enablePrefixCaching: Bool
    /// Largest chunk of one prompt in a step (vLLM's `long_prefill_token_threshold`); `nil` = no
    /// limit beyond the step's budget.
    public var longPrefillTokenThreshold: Int?
    /// Adapters among the running requests (`--max-loras`: the model's adapter slots); 0 without LoRA.
    public var maxLoras: Int

    public init(
        maxNumBatchedTokens: Int = 8192, maxNumSeqs: Int = 256, maxModelLen: Int, blockSize: Int = 16,
        numGPUBlocks: Int, enablePrefixCaching: Bool = true, longPrefillTokenThreshold: Int? = nil, maxLoras: Int = 0
    ) {
        self.maxLoras = maxLoras
        self.maxNumBatchedTokens = maxNumBatchedTokens
        self.maxNumSeqs = maxNumSeqs
        self.maxModelLen = maxModelLen
        self.blockSize = blockSize
        self.numGPUBlocks = numGPUBlocks
        self.enablePrefixCaching = enablePrefixCaching
        self.longPrefillTokenThreshold = longPrefillTokenThreshold
    }

    /// Blocks that `kvCacheMemory` bytes hold, for a cache of `numLayers` layers storing K and V of
    /// `numKVHeads × headSize` elements of `bytesPerElement` each (the CPU backend's `--kv-cache-memory`).
    public static func numBlocks(
        kvCacheMemory: Int, blockSize: Int, numLayers: Int, numKVHeads: Int, headSize: Int, bytesPerElement: Int
    ) -> Int {
        let bytesPerBlock = 2 * numLayers * blockSize * numKVHeads * headSize * bytesPerElement
        return bytesPerBlock > 0 ? kvCacheMemory / bytesPerBlock : 0
    }
}
