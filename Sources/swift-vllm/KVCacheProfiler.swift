import VLLMCompute
import VLLMCUDA
import VLLMEngine
import VLLMModels

/// Sizes the KV cache as vLLM does: with the weights loaded, run one profiling forward at the largest
/// step, then give the cache `gpuMemoryUtilization × total − weights − activation peak`.
enum KVCacheProfiler {
    struct Plan {
        var numBlocks: Int
        var blockSize: Int
        var weightBytes: Int
        var activationPeakBytes: Int
        var kvCacheBytes: Int
        var totalBytes: Int

        var summary: String {
            "KV cache: \(numBlocks) blocks of \(blockSize) tokens = \(numBlocks * blockSize) tokens of context "
                + "(\(kvCacheBytes >> 20) MiB; weights \(weightBytes >> 20) MiB, activation peak \(activationPeakBytes >> 20) MiB, "
                + "device \(totalBytes >> 20) MiB)"
        }
    }

    static func plan(model: any CausalLM, backend: CUDABackend, maxNumTokens: Int, maxNumSeqs: Int, blockSize: Int,
                     gpuMemoryUtilization: Double) throws -> Plan {
        try backend.synchronize()
        let weights = backend.allocator.bytesInUse
        backend.allocator.resetPeak()
        let tokens = min(maxNumTokens, model.config.derivedMaxModelLen)
        do {
            // One sequence of the largest step, through a cache just big enough for it.
            let blocks = (tokens + blockSize - 1) / blockSize
            let runner = try ModelRunner(model: model, numBlocks: blocks, blockSize: blockSize,
                                         maxNumBatchedTokens: maxNumTokens, maxNumSeqs: maxNumSeqs)
            let sequence = StepSequence(tokenIds: [Int32](repeating: 1, count: tokens), numComputedTokens: 0,
                                        blockIds: (0..<Int32(blocks)).map { $0 }, sampling: SamplingRow())
            _ = try runner.execute([sequence])
            try backend.synchronize()
        }
        let cacheOfProfile = model.kvCacheBytesPerBlock(blockSize: blockSize) * ((tokens + blockSize - 1) / blockSize)
        let peak = max(0, backend.allocator.peakBytesInUse - weights - cacheOfProfile)
        try backend.allocator.emptyCache()
        let total = backend.context.totalMemory
        let budget = Int(gpuMemoryUtilization * Double(total)) - weights - peak
        let bytesPerBlock = model.kvCacheBytesPerBlock(blockSize: blockSize)
        guard budget >= bytesPerBlock else {
            throw BackendError("no memory left for the KV cache: \(gpuMemoryUtilization) × \(total >> 20) MiB − weights "
                               + "\(weights >> 20) MiB − activations \(peak >> 20) MiB; raise --gpu-memory-utilization")
        }
        let numBlocks = budget / bytesPerBlock
        return Plan(numBlocks: numBlocks, blockSize: blockSize, weightBytes: weights, activationPeakBytes: peak,
                    kvCacheBytes: numBlocks * bytesPerBlock, totalBytes: total)
    }
}
