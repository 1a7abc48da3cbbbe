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

    /// - Parameters:
    ///   - models: one per rank (each on a backend that reports its memory); every rank gets the fewest blocks any rank
    ///     has room for, since the block tables are shared.
    ///   - draft: speculative decoding's draft model, on rank 0's device (loaded, so its weights count): it runs the
    ///     profiling step too, and each block holds its K/V beside the target's.
    public static func profile(models: [any CausalLM], draft: (any CausalLM)? = nil, maxNumTokens: Int, maxNumSeqs: Int, maxLogitsRows: Int? = nil,
                               blockSize: Int, gpuMemoryUtilization: Double) throws -> Plan {
        let memories = try models.map { model -> any DeviceMemoryReporting in
            guard let memory = model.backend as? any DeviceMemoryReporting else {
                throw BackendError("\(model.backend.name) does not report its memory; the KV cache cannot be sized from it")
            }
            return memory
        }
        var weights: [Int] = []
        for (model, memory) in zip(models, memories) {
            try model.backend.synchronize()
            weights.append(try memory.memoryStats().bytesInUse)
            memory.resetPeakMemory()
        }
        let config = models[0].config
        let tokens = min(maxNumTokens, config.derivedMaxModelLen)
        let profileBlocks = (tokens + blockSize - 1) / blockSize
        do {
            // One sequence of the largest step, through a cache just big enough for it.
            let runner = try ModelRunner(models: models, numBlocks: profileBlocks, blockSize: blockSize,
                                         maxNumBatchedTokens: maxNumTokens, maxNumSeqs: maxNumSeqs, maxLogitsRows: maxLogitsRows)
            let sequence = StepSequence(tokenIds: [Int32](repeating: 1, count: tokens), numComputedTokens: 0,
                                        blockIds: (0..<Int32(profileBlocks)).map { $0 }, sampling: SamplingRow(),
                                        loraSlot: models[0].loraCapacity == nil ? nil : 0)
            _ = try runner.execute([sequence])
            if let draft {
                let draftRunner = try ModelRunner(model: draft, numBlocks: profileBlocks, blockSize: blockSize,
                                                  maxNumBatchedTokens: maxNumTokens, maxNumSeqs: maxNumSeqs)
                _ = try draftRunner.execute([sequence])
            }
            for model in models { try model.backend.synchronize() }
        }
        var plans: [(numBlocks: Int, summary: String)] = []
        for (rank, memory) in memories.enumerated() {
            // A pipeline stage's block holds the K/V of its own layers only.
            let bytesPerBlock = models[rank].kvCacheBytesPerBlock(blockSize: blockSize)
                + (rank == 0 ? draft?.kvCacheBytesPerBlock(blockSize: blockSize) ?? 0 : 0)
            let stats = try memory.memoryStats()
            let peak = max(0, stats.peakBytesInUse - weights[rank] - bytesPerBlock * profileBlocks)
            try memory.releaseCachedMemory()
            let budget = Int(gpuMemoryUtilization * Double(stats.totalBytes)) - weights[rank] - peak
            let on = models.count > 1 ? " on rank \(rank) (\(models[rank].backend.name))" : ""
            guard budget >= bytesPerBlock else {
                throw BackendError("no memory left for the KV cache\(on): \(gpuMemoryUtilization) × \(stats.totalBytes >> 20) MiB − weights "
                                   + "\(weights[rank] >> 20) MiB − activations \(peak >> 20) MiB; raise --gpu-memory-utilization")
            }
            let numBlocks = budget / bytesPerBlock
            plans.append((numBlocks, "KV cache: \(numBlocks) blocks of \(blockSize) tokens = \(numBlocks * blockSize) tokens of context "
                + "(\((numBlocks * bytesPerBlock) >> 20) MiB\(models.count > 1 ? " a rank" : ""); weights \(weights[rank] >> 20) MiB, "
                + "activation peak \(peak >> 20) MiB, device \(stats.totalBytes >> 20) MiB)"))
        }
        return plans.min { $0.numBlocks < $1.numBlocks }.map { Plan(numBlocks: $0.numBlocks, summary: $0.summary) }!
    }
}
