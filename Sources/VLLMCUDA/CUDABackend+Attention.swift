import VLLMCompute

extension CUDABackend {
    /// Flash-decoding: CTAs wanted per multiprocessor.
    static let attentionCTAsPerSM = 4
    static let attentionThreads = 128
    static let attentionTile = 128

    public func pagedAttention(query: Tensor, cache: PagedKVCache, metadata: AttentionMetadata, scale: Float,
                               out: Tensor) throws {
        // A step that mixes decodes (first) with longer queries runs as two: the decodes through the decode
        // kernel, the rest through the prefill one, each over its own run of sequences, rows and offsets.
        if Self.isDecodeAttentionEnabled, let (decodes, rest) = metadata.splitAtDecodes() {
            let numDecodes = decodes.numTokens, tokens = metadata.numTokens
            try pagedAttention(query: query.rows(0..<numDecodes), cache: cache, metadata: decodes, scale: scale,
                               out: out.rows(0..<numDecodes))
            try pagedAttention(query: query.rows(numDecodes..<tokens), cache: cache, metadata: rest, scale: scale,
                               out: out.rows(numDecodes..<tokens))
            return
        }
        // Pure decode steps: decode_attention.cu (CUDABackend+DecodeAttention.swift), unless switched off.
        // (prefill_attention.cu's kernel takes decodes too, a CTA per token: on an H200 at context 512 it took
        // 1.26 / 2.79 / 10.5 ms a step of 32 layers at batch 1 / 64 / 256 against 0.40 / 1.55 / 5.35 here.)
        if Self.isDecodeAttentionEnabled,
           try decodeAttention(query: query, cache: cache, metadata: metadata, scale: scale, out: out) {
            return
        }
        // Steps holding a prefill chunk, in bf16: prefill_attention.cu's tensor-core kernel
        // (CUDABackend+PrefillAttention.swift), unless switched off.
        if Self.isPrefillAttentionEnabled,
           try prefillAttention(query: query, cache: cache, metadata: metadata, scale: scale, out: out) {
            return
        }
        if cache.isFloat8 {
            throw BackendError("pagedAttention: an fp8 cache is read only by the tensor-core kernels (head size 64 or 128, "
                               + "at most 16 query heads per KV head, 16-byte aligned tensors), which declined this step")
        }
        guard let numHeads = try attentionHeads(query: query, cache: cache, metadata: metadata, out: out) else { return }
        let headSize = cache.headSize
        let tokens = metadata.numTokens
        let group = numHeads / cache.numKVHeads

        // A CTA walks its keys one tile after another, bound by memory latency: when a decode step has
        // fewer (token, KV head) pairs than about four CTAs per multiprocessor, split the keys into
        // partitions so that more CTAs share the work (flash-decoding). Partitions are whole tiles, and
        // steps that hold a prefill chunk are never split, so prefills and contexts of one tile keep the
        // single pass's rounding (probabilities in bf16 relative to the running maximum, as flash
        // attention's) and only long decode contexts merge partitions.
        let pairs = tokens * cache.numKVHeads
        let wanted = Self.attentionCTAsPerSM * context.multiprocessorCount
        let tile = Self.attentionTile
        var partition = 1 << 30
        var numSplits = 1
        if metadata.maxQueryLen == 1 && pairs < wanted && metadata.maxSeqLen > tile {
            let splits = min((wanted + pairs - 1) / pairs, (metadata.maxSeqLen + tile - 1) / tile)
            partition = (metadata.maxSeqLen + splits - 1) / splits
            partition = (partition + tile - 1) / tile * tile
            numSplits = (metadata.maxSeqLen + partition - 1) / partition
        }
        let keySubsets = Self.attentionThreads / (headSize / 2)
        let sharedBytes = 4 * (group * headSize + group * Self.attentionTile + keySubsets * group * headSize)

        var partials: (acc: Tensor, max: Tensor, sum: Tensor)?
        if numSplits > 1 {
            partials = (try scratch(.attentionAccumulators, shape: [tokens, numHeads, numSplits, headSize], dtype: .float32),
                        try scratch(.attentionMaxima, shape: [tokens, numHeads, numSplits], dtype: .float32),
                        try scratch(.attentionSums, shape: [tokens, numHeads, numSplits], dtype: .float32))
        }
        let unused = KernelArgument.pointer(0)
        let groupBound = [1, 2, 4, 8, 16].first { group <= $0 }!
        try launch("paged_attention_\(kernelSuffix)_g\(groupBound)", in: "attention", grid: (numSplits, cache.numKVHeads, tokens),
                   block: (Self.attentionThreads, 1, 1), sharedBytes: sharedBytes,
                   [query.device, cache.key.device, cache.value.device, metadata.queryStartLoc.device,
                    metadata.seqLens.device, metadata.blockTables.device, out.device,
                    partials?.acc.device ?? unused, partials?.max.device ?? unused, partials?.sum.device ?? unused,
                    .int32(Int32(metadata.numSeqs)), .int32(Int32(numHeads)), .int32(Int32(cache.numKVHeads)),
                    .int32(Int32(headSize)), .int32(Int32(cache.blockSize)),
                    .int32(Int32(metadata.blockTables.shape[1])), .int32(Int32(partition)), .float(scale)])
        if let partials {
            try launch("paged_attention_combine_\(kernelSuffix)", in: "attention", grid: (numHeads, tokens, 1),
                       block: (headSize, 1, 1),
                       [partials.acc.device, partials.max.device, partials.sum.device, out.device,
                        .int32(Int32(numHeads)), .int32(Int32(headSize)), .int32(Int32(numSplits))])
        }
    }

    /// The checks every attention launch makes, worded once: dtypes, head size, query and out shapes, GQA
    /// grouping, the metadata tensors. Returns the number of query heads, or nil for a step of no tokens.
    func attentionHeads(query: Tensor, cache: PagedKVCache, metadata: AttentionMetadata, out: Tensor) throws -> Int? {
        let headSize = cache.headSize
        let tokens = metadata.numTokens
        let act = activationDType
        try require(query.dtype == act && out.dtype == act
                    && (cache.key.dtype == act || (cache.isFloat8 && act == .bfloat16)) && cache.value.dtype == cache.key.dtype,
                    "pagedAttention", "query \(query), out \(out), cache \(cache.key) (want \(act), or fp8 with bf16)")
        guard tokens > 0 else { return nil }
        try require(headSize % 8 == 0 && headSize <= 256, "pagedAttention",
                    "headSize \(headSize) unsupported (a multiple of 8, at most 256)")
        try require(query.count % (tokens * headSize) == 0 && out.count == query.count, "pagedAttention",
                    "query \(query), out \(out) for \(tokens) tokens of headSize \(headSize)")
        let numHeads = query.count / (tokens * headSize)
        try require(numHeads % cache.numKVHeads == 0 && numHeads / cache.numKVHeads <= 16, "pagedAttention",
                    "\(numHeads) query heads over \(cache.numKVHeads) KV heads (need a multiple, at most 16 per KV head)")
        try require(metadata.blockTables.rank == 2 && metadata.blockTables.dtype == .int32
                    && metadata.queryStartLoc.count == metadata.numSeqs + 1 && metadata.seqLens.count == metadata.numSeqs,
                    "pagedAttention", "metadata tensors: blockTables \(metadata.blockTables), queryStartLoc "
                        + "\(metadata.queryStartLoc), seqLens \(metadata.seqLens) for \(metadata.numSeqs) sequences")
        return numHeads
    }
}
