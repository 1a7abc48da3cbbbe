import VLLMCompute

/// The row-wise ops: each a launch of one kernel of Kernels/*.cu, with its grid chosen here.
extension CUDABackend {
    public func embedding(tokenIds: Tensor, table: Tensor, out: Tensor) throws {
        try require(tokenIds.dtype == .int32 && table.rank == 2 && table.dtype == .bfloat16 && out.dtype == .bfloat16,
                    "embedding", "tokenIds \(tokenIds), table \(table), out \(out) (want int32, bf16 [V, H], bf16)")
        let (vocab, hidden) = (table.shape[0], table.shape[1])
        try require(out.count == tokenIds.count * hidden, "embedding", "out \(out) for \(tokenIds.count) tokens × \(hidden)")
        try launch("embedding_bf16", in: "embedding", grid: (tokenIds.count, 1, 1), block: (256, 1, 1),
                   [tokenIds.device, table.device, out.device, .int32(Int32(hidden)), .int32(Int32(vocab))])
    }

    public func rmsNorm(_ x: Tensor, weight: Tensor, epsilon: Float, out: Tensor) throws {
        let dim = weight.count
        try require(x.dtype == .bfloat16 && out.dtype == .bfloat16 && weight.dtype == .bfloat16, "rmsNorm",
                    "x \(x), weight \(weight), out \(out) (want bf16)")
        try require(dim > 0 && x.count % dim == 0 && out.count == x.count, "rmsNorm",
                    "x \(x), weight \(weight), out \(out)")
        try launch("rms_norm_bf16", in: "layernorm", grid: (x.count / dim, 1, 1), block: (Self.normThreads(dim), 1, 1),
                   [x.device, weight.device, out.device, .int32(Int32(dim)), .float(epsilon)])
    }

    public func addRMSNorm(_ x: Tensor, residual: Tensor, weight: Tensor, epsilon: Float, out: Tensor) throws {
        let dim = weight.count
        try require(x.dtype == .bfloat16 && residual.dtype == .bfloat16 && out.dtype == .bfloat16
                    && weight.dtype == .bfloat16, "addRMSNorm", "x \(x), residual \(residual), out \(out) (want bf16)")
        try require(dim > 0 && x.count % dim == 0 && residual.count == x.count && out.count == x.count, "addRMSNorm",
                    "x \(x), residual \(residual), weight \(weight), out \(out)")
        try launch("add_rms_norm_bf16", in: "layernorm", grid: (x.count / dim, 1, 1),
                   block: (Self.normThreads(dim), 1, 1),
                   [x.device, residual.device, weight.device, out.device, .int32(Int32(dim)), .float(epsilon)])
    }

    /// One warp per 256 elements of the row, 1 to 32 warps.
    static func normThreads(_ dim: Int) -> Int { min(1024, max(32, (dim + 255) / 256 * 32)) }

    public func rotaryEmbedding(query: Tensor, key: Tensor, positions: Tensor, cosSinCache: Tensor, headSize: Int) throws {
        let tokens = positions.count
        try require(query.dtype == .bfloat16 && key.dtype == .bfloat16 && positions.dtype == .int32
                    && cosSinCache.dtype == .float32 && cosSinCache.rank == 2, "rotaryEmbedding",
                    "query \(query), key \(key), positions \(positions), cosSinCache \(cosSinCache)")
        guard tokens > 0 else { return }
        let rotaryDim = cosSinCache.shape[1]
        try require(headSize > 0 && query.count % (tokens * headSize) == 0 && key.count % (tokens * headSize) == 0
                    && rotaryDim % 2 == 0 && rotaryDim <= headSize, "rotaryEmbedding",
                    "query \(query), key \(key), \(tokens) tokens, headSize \(headSize), rotaryDim \(rotaryDim)")
        let numHeads = query.count / (tokens * headSize)
        let numKVHeads = key.count / (tokens * headSize)
        try launch("rotary_neox_bf16", in: "rotary", grid: (tokens, 1, 1), block: (256, 1, 1),
                   [positions.device, query.device, key.device, cosSinCache.device, .int32(Int32(numHeads)),
                    .int32(Int32(numKVHeads)), .int32(Int32(headSize)), .int32(Int32(rotaryDim)),
                    .int32(Int32(cosSinCache.shape[0]))])
    }

    public func writeKVCache(key: Tensor, value: Tensor, cache: PagedKVCache, slotMapping: Tensor) throws {
        let rowElements = cache.numKVHeads * cache.headSize
        let tokens = slotMapping.count
        try require(key.dtype == .bfloat16 && value.dtype == .bfloat16 && cache.key.dtype == .bfloat16
                    && slotMapping.dtype == .int32, "writeKVCache",
                    "key \(key), value \(value), cache \(cache.key), slotMapping \(slotMapping)")
        try require(key.count == tokens * rowElements && value.count == key.count, "writeKVCache",
                    "key \(key), value \(value) for \(tokens) slots of \(cache.numKVHeads)×\(cache.headSize)")
        try launch("reshape_and_cache_bf16", in: "cache", grid: (tokens, 1, 1), block: (128, 1, 1),
                   [key.device, value.device, cache.key.device, cache.value.device, slotMapping.device,
                    .int32(Int32(rowElements)), .int64(Int64(cache.numBlocks * cache.blockSize))])
    }

    public func siluAndMul(_ x: Tensor, out: Tensor) throws {
        try require(x.dtype == .bfloat16 && out.dtype == .bfloat16 && x.rank == 2 && x.shape[1] % 2 == 0,
                    "siluAndMul", "x \(x), out \(out) (want bf16 [T, 2I])")
        let (tokens, inner) = (x.shape[0], x.shape[1] / 2)
        try require(out.count == tokens * inner, "siluAndMul", "out \(out) for x \(x)")
        try launch("silu_and_mul_bf16", in: "elementwise", grid: (tokens, (inner + 1023) / 1024, 1), block: (256, 1, 1),
                   [x.device, out.device, .int32(Int32(inner))])
    }

    public func gatherRows(_ x: Tensor, indices: Tensor, out: Tensor) throws {
        try require(x.rank == 2 && indices.dtype == .int32 && out.dtype == x.dtype
                    && out.count == indices.count * x.shape[1], "gatherRows", "x \(x), indices \(indices), out \(out)")
        let kernel: String
        switch x.dtype {
        case .bfloat16: kernel = "gather_rows_bf16"
        case .float32: kernel = "gather_rows_f32"
        default: throw BackendError("gatherRows: \(x.dtype) rows are not supported (bf16, f32)")
        }
        try launch(kernel, in: "embedding", grid: (indices.count, 1, 1), block: (256, 1, 1),
                   [x.device, indices.device, out.device, .int32(Int32(x.shape[1])), .int32(Int32(x.shape[0]))])
    }

    /// `out[t, n] += bias[n]`, for the matmuls cuBLASLt's bias epilogue does not cover.
    func addBias(_ out: Tensor, bias: Tensor) throws {
        let kernel = out.dtype == .float32 ? "add_bias_f32" : "add_bias_bf16"
        try launch(kernel, in: "elementwise", grid: ((out.count + 1023) / 1024, 1, 1), block: (256, 1, 1),
                   [out.device, bias.device, .int32(Int32(bias.count)), .int64(Int64(out.count))])
    }
}
