import VLLMCompute
import VLLMModels

/// Sizes the KV cache as vLLM does on a GPU: with the weights loaded, one profiling forward of the
/// largest step measures the activation peak; the cache gets
/// `gpuMemoryUtilization × total − weights − activation peak`.
public enum KVCacheSizing {
    public struct Plan: Sendable {
        public var numBlocks: Int
        public var summary: String
    }

    public static func profile(model: any CausalLM, memory: any DeviceMemoryReporting, maxNumTokens: Int, maxNumSeqs: Int,
                        blockSize: Int, gpuMemoryUtilization: Double) throws -> Plan {
        let backend = model.backend
        try backend.synchronize()
        let weights = try memory.memoryStats().bytesInUse
        memory.resetPeakMemory()
        let tokens = min(maxNumTokens, model.config.derivedMaxModelLen)
        let profileBlocks = (tokens + blockSize - 1) / blockSize
        do {
            // One sequence of the largest step, through a cache just big enough for it.
            let runner = try ModelRunner(model: model, numBlocks: profileBlocks, blockSize: blockSize,
                                         maxNumBatchedTokens: maxNumTokens, maxNumSeqs: maxNumSeqs)
            let sequence = StepSequence(tokenIds: [Int32](repeating: 1, count: tokens), numComputedTokens: 0,
                                        blockIds: (0..<Int32(profileBlocks)).map { $0 }, sampling: SamplingRow())
            _ = try runner.execute([sequence])
            try backend.synchronize()
        }
        let bytesPerBlock = model.kvCacheBytesPerBlock(blockSize: blockSize)
        let stats = try memory.memoryStats()
        let peak = max(0, stats.peakBytesInUse - weights - bytesPerBlock * profileBlocks)
        try memory.releaseCachedMemory()
        let budget = Int(gpuMemoryUtilization * Double(stats.totalBytes)) - weights - peak
        guard budget >= bytesPerBlock else {
            throw BackendError("no memory left for the KV cache: \(gpuMemoryUtilization) × \(stats.totalBytes >> 20) MiB − weights "
                               + "\(weights >> 20) MiB − activations \(peak >> 20) MiB; raise --gpu-memory-utilization")
        }
        let numBlocks = budget / bytesPerBlock
        let summary = "KV cache: \(numBlocks) blocks of \(blockSize) tokens = \(numBlocks * blockSize) tokens of context "
            + "(\((numBlocks * bytesPerBlock) >> 20) MiB; weights \(weights >> 20) MiB, activation peak \(peak >> 20) MiB, "
            + "device \(stats.totalBytes >> 20) MiB)"
        return Plan(numBlocks: numBlocks, summary: summary)
    }
}
