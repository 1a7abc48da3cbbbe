import FoundationEssentials
import VLLMCompute

/// Paged attention for pure decode steps by Kernels/decode_attention.cu: one CTA per (sequence, KV head,
/// key partition) serving all the query heads of that KV head, its warps each walking their own keys with
/// no barrier in the key loop, K/V rows read once with 16-byte loads and prefetched two passes ahead; the
/// last CTA of a split sequence to finish merges the partitions, in the same launch.
extension CUDABackend {
    /// `SWIFT_VLLM_DECODE_ATTENTION=0` sends decode steps to attention.cu's general kernel, so both paths
    /// can be timed on one binary.
    static let isDecodeAttentionEnabled = ProcessInfo.processInfo.environment["SWIFT_VLLM_DECODE_ATTENTION"] != "0"

    /// DECODE_WARPS (decode_attention_merge.cuh): a CTA is 4 warps.
    static let decodeAttentionWarps = 4
    /// Most key partitions per sequence: the merge's lanes hold two each.
    static let decodeAttentionMaxSplits = 64

    /// Keys a lane group takes per pass (decode_attention.cu's `DecodeShape::U`): 4 in bf16, 2 in f32,
    /// half that for the g8 entry points, whose 8 heads' queries and accumulators fill the registers.
    static func decodeAttentionUnroll(groupBound: Int, dtype: DType) -> Int {
        let unroll = dtype == .float32 ? 2 : 4
        return groupBound >= 8 ? unroll / 2 : unroll
    }

    /// Most passes one key partition covers, so that a long context among short ones is split and does
    /// not leave one CTA running long after the others (2048 keys for Llama 3's shape in bf16).
    static let decodeAttentionMaxPassesPerSplit = 64

    /// The passes (of `keysPerPass` keys) each key partition covers. With at least one CTA per
    /// multiprocessor the keys are not split: on an H200, splitting batch 32 to 256 × 512 keys never
    /// shortened the kernel (measured while the merge was a second launch). Fewer CTAs (small batches)
    /// split into at most two CTAs per multiprocessor (more made a second wave of the g8 kernel, 2 CTAs an
    /// SM), at least one pass per warp; and no partition is longer than `decodeAttentionMaxPassesPerSplit`
    /// passes or makes more than `decodeAttentionMaxSplits`.
    static func decodeAttentionPassesPerSplit(ctas: Int, multiprocessors: Int, passes: Int) -> Int {
        var perSplit = passes
        if ctas < multiprocessors {
            let wanted = min(passes, Self.decodeAttentionMaxSplits, max(1, 2 * multiprocessors / ctas))
            perSplit = (passes + wanted - 1) / wanted
        }
        let fewest = (passes + Self.decodeAttentionMaxSplits - 1) / Self.decodeAttentionMaxSplits
        return max(fewest, min(perSplit, Self.decodeAttentionMaxPassesPerSplit))
    }

    /// out [T, numHeads·headSize] = attention over the paged cache for a step in which every sequence
    /// feeds one token. Returns false, launching nothing, where the kernel does not apply — a step with
    /// a longer query, or a block size that is not a multiple of 4 (a lane group's keys of one pass must
    /// share a block) — so the caller runs attention.cu's general kernel.
    func decodeAttention(query: Tensor, cache: PagedKVCache, metadata: AttentionMetadata, scale: Float,
                         out: Tensor) throws -> Bool {
        // bf16, head size 64 or 128: tensor cores (decode_attention_mma.cu). At context 512 on an H200, 32
        // layers: 0.33 / 0.49 / 0.86 / 1.65 / 4.97 ms at batch 1 / 8 / 32 / 64 / 256 against decode_attention.cu's
        // 0.41 / 0.67 / 1.02 / 1.58 / 5.41 (docs/gpu-runs/2026-11-30b/run20).
        if Self.isDecodeAttentionMMAEnabled || cache.isFloat8,
           try decodeAttentionMMA(query: query, cache: cache, metadata: metadata, scale: scale, out: out) {
            return true
        }
        guard metadata.maxQueryLen == 1, cache.blockSize % 4 == 0, !cache.isFloat8 else { return false }
        guard let numHeads = try attentionHeads(query: query, cache: cache, metadata: metadata, out: out) else { return true }
        let headSize = cache.headSize
        let tokens = metadata.numTokens
        let act = activationDType
        try require(metadata.numSeqs <= 65535, "pagedAttention",
                    "\(metadata.numSeqs) sequences (at most 65535 in one decode launch: the grid's z)")

        // Geometry: a CTA serves at most `groupBound` query heads (g1…g8; G = 16 runs two CTAs of 8 per KV
        // head), `keyLanes` lanes share a key (8 dimensions each, so headSize ≤ 8 · keyLanes), and its 4
        // warps take `keysPerPass` keys a pass.
        let group = numHeads / cache.numKVHeads
        let groupBound = [1, 2, 4, 8].first { group <= $0 } ?? 8
        let headChunks = (group + groupBound - 1) / groupBound
        let keyLanes = [8, 16, 32].first { 8 * $0 >= headSize } ?? 32
        let keysPerPass = Self.decodeAttentionWarps * (32 / keyLanes)
            * Self.decodeAttentionUnroll(groupBound: groupBound, dtype: act)
        let ctas = metadata.numSeqs * cache.numKVHeads * headChunks
        let passes = max(1, (metadata.maxSeqLen + keysPerPass - 1) / keysPerPass)
        let passesPerSplit = Self.decodeAttentionPassesPerSplit(ctas: ctas, multiprocessors: context.multiprocessorCount,
                                                                passes: passes)
        let numSplits = (passes + passesPerSplit - 1) / passesPerSplit
        // Partitions of whole passes, so every lane group's keys start at a multiple of U.
        let partition = numSplits == 1 ? 1 << 30 : passesPerSplit * keysPerPass
        // Per warp, the accumulators of each head, then each head's max and sum: the warps' merge.
        let sharedBytes = 4 * Self.decodeAttentionWarps * groupBound * (headSize + 2)

        var partials: (acc: Tensor, max: Tensor, sum: Tensor)?
        if numSplits > 1 {
            partials = (try scratch(.attentionAccumulators, shape: [tokens, numHeads, numSplits, headSize], dtype: .float32),
                        try scratch(.attentionMaxima, shape: [tokens, numHeads, numSplits], dtype: .float32),
                        try scratch(.attentionSums, shape: [tokens, numHeads, numSplits], dtype: .float32))
        }
        // One counter per (sequence, KV head chunk): its last CTA to finish merges the partitions.
        let counters = try numSplits > 1 ? splitCounters(atLeast: ctas) : nil
        let unused = KernelArgument.pointer(0)
        try launch("decode_attention_\(kernelSuffix)_g\(groupBound)_l\(keyLanes)", in: "decode_attention",
                   grid: (numSplits, cache.numKVHeads * headChunks, metadata.numSeqs),
                   block: (32 * Self.decodeAttentionWarps, 1, 1), sharedBytes: sharedBytes,
                   [query.device, cache.key.device, cache.value.device, metadata.queryStartLoc.device,
                    metadata.seqLens.device, metadata.blockTables.device, out.device,
                    partials?.acc.device ?? unused, partials?.max.device ?? unused, partials?.sum.device ?? unused,
                    counters?.device ?? unused,
                    .int32(Int32(numHeads)), .int32(Int32(cache.numKVHeads)), .int32(Int32(headSize)),
                    .int32(Int32(cache.blockSize)), .int32(Int32(metadata.blockTables.shape[1])),
                    .int32(Int32(partition)), .float(scale)])
        return true
    }

    /// `SWIFT_VLLM_DECODE_ATTENTION=lanes` keeps decode steps on decode_attention.cu where
    /// decode_attention_mma.cu would take them, so both can be timed on one binary.
    static let isDecodeAttentionMMAEnabled = ProcessInfo.processInfo.environment["SWIFT_VLLM_DECODE_ATTENTION"] != "lanes"

    /// decode_attention_mma.cu's keys a CTA takes a pass: 4 warps × 16.
    static let decodeAttentionMMAKeysPerPass = 64

    /// Dynamic shared memory of a decode_attention_mma.cu CTA: the Q tile and each warp's two stages of
    /// 16 K and 16 V rows, rows padded by 8 elements (74 KiB at d128).
    static func decodeAttentionMMASharedBytes(headSize: Int) -> Int {
        (16 + decodeAttentionWarps * 2 * 2 * 16) * (headSize + 8) * DType.bfloat16.size
    }

    /// out [T, numHeads·headSize] = attention over the paged cache for a pure decode step, on tensor cores
    /// (decode_attention_mma.cu): a CTA per (sequence, KV head, key partition) with the G query heads as
    /// the rows of its MMAs. Returns false, launching nothing, where the kernel does not apply — a longer
    /// query, f32, head sizes other than 64 and 128, more than 16 query heads per KV head, a GPU before
    /// sm_80, tensors not 16-byte aligned.
    func decodeAttentionMMA(query: Tensor, cache: PagedKVCache, metadata: AttentionMetadata, scale: Float,
                            out: Tensor) throws -> Bool {
        let headSize = cache.headSize
        guard metadata.maxQueryLen == 1, activationDType == .bfloat16, context.computeCapability.major >= 8,
              headSize == 64 || headSize == 128,
              [query.address, out.address, cache.key.address, cache.value.address].allSatisfy({ $0 % 16 == 0 })
        else { return false }
        guard let numHeads = try attentionHeads(query: query, cache: cache, metadata: metadata, out: out) else { return true }
        try require(metadata.numSeqs <= 65535, "pagedAttention",
                    "\(metadata.numSeqs) sequences (at most 65535 in one decode launch: the grid's z)")
        let ctas = metadata.numSeqs * cache.numKVHeads
        let keysPerPass = Self.decodeAttentionMMAKeysPerPass
        let passes = max(1, (metadata.maxSeqLen + keysPerPass - 1) / keysPerPass)
        // decode_attention.cu's rule, in passes of 64 keys. (Splitting further, until the grid filled four
        // waves of resident CTAs, made batch 32 / 64 / 128 × 512 keys slower on an H200: run21.)
        let passesPerSplit = Self.decodeAttentionPassesPerSplit(ctas: ctas, multiprocessors: context.multiprocessorCount,
                                                                passes: passes)
        let numSplits = (passes + passesPerSplit - 1) / passesPerSplit
        let partition = numSplits == 1 ? 1 << 30 : passesPerSplit * keysPerPass
        var partials: (acc: Tensor, max: Tensor, sum: Tensor)?
        let tokens = metadata.numTokens
        if numSplits > 1 {
            partials = (try scratch(.attentionAccumulators, shape: [tokens, numHeads, numSplits, headSize], dtype: .float32),
                        try scratch(.attentionMaxima, shape: [tokens, numHeads, numSplits], dtype: .float32),
                        try scratch(.attentionSums, shape: [tokens, numHeads, numSplits], dtype: .float32))
        }
        let counters = try numSplits > 1 ? splitCounters(atLeast: ctas) : nil
        let unused = KernelArgument.pointer(0)
        let cacheName = cache.key.dtype.float8Format.map(Self.float8Name) ?? "bf16"
        try launch("decode_attention_mma_\(cacheName)_d\(headSize)", in: "decode_attention_mma",
                   grid: (numSplits, cache.numKVHeads, metadata.numSeqs),
                   block: (32 * Self.decodeAttentionWarps, 1, 1),
                   sharedBytes: Self.decodeAttentionMMASharedBytes(headSize: headSize),
                   [query.device, cache.key.device, cache.value.device, metadata.queryStartLoc.device,
                    metadata.seqLens.device, metadata.blockTables.device, out.device,
                    partials?.acc.device ?? unused, partials?.max.device ?? unused, partials?.sum.device ?? unused,
                    counters?.device ?? unused,
                    .int32(Int32(numHeads)), .int32(Int32(cache.numKVHeads)), .int32(Int32(cache.blockSize)),
                    .int32(Int32(metadata.blockTables.shape[1])), .int32(Int32(partition)), .float(scale),
                    .float(cache.keyScale), .float(cache.valueScale)])
        return true
    }

    /// At least `count` zeroed int32 counters for a launch split over CTAs whose last CTA combines the splits
    /// (split decode attention, LoRA's shrink), kept for the backend's life: every launch leaves them zero again
    /// (each one's last CTA resets it), so they are zeroed only when made. Launches on the one stream run in order
    /// (a PDL launch reads nothing before the one before it is done), so a launch never sees another's counts.
    func splitCounters(atLeast count: Int) throws -> Tensor {
        let counters = try splitLaunchCounters.withLock { cached -> Tensor in
            if let cached, cached.count >= count { return cached }
            // Grown in powers of two from 4096 (16 KiB: batch 512 × 8 KV heads), so growth is rare; the
            // one replaced goes back to the allocator, stream-ordered after the launches that used it.
            var size = 4096
            while size < count { size *= 2 }
            let counters = try allocate(shape: [size], dtype: .int32)
            try context.makeCurrent()
            try check(driver.cuMemsetD8Async!(counters.devicePointer, 0, counters.byteCount, stream.handle),
                      "cuMemsetD8Async(\(counters.byteCount) bytes)")
            try profiler.mark("memset")
            cached = counters
            return counters
        }
        retainDuringCapture(counters)
        return counters
    }
}
