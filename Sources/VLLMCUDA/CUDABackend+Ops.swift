import VLLMCompute

/// The row-wise ops: each a launch of one kernel of Kernels/*.cu, with its grid chosen here.
extension CUDABackend {
    public func embedding(tokenIds: Tensor, table: Tensor, firstTokenId: Int, out: Tensor) throws {
        let act = activationDType
        try require(tokenIds.dtype == .int32 && table.rank == 2 && table.dtype == act && out.dtype == act,
                    "embedding", "tokenIds \(tokenIds), table \(table), out \(out) (want int32, \(act) [V, H], \(act))")
        let (vocab, hidden) = (table.shape[0], table.shape[1])
        try require(out.count == tokenIds.count * hidden, "embedding", "out \(out) for \(tokenIds.count) tokens × \(hidden)")
        try launch("embedding_\(kernelSuffix)", in: "embedding", grid: (tokenIds.count, 1, 1), block: (256, 1, 1),
                   [tokenIds.device, table.device, out.device, .int32(Int32(hidden)), .int32(Int32(vocab)),
                    .int32(Int32(firstTokenId))])
    }

    public func rmsNorm(_ x: Tensor, weight: Tensor, epsilon: Float, out: Tensor) throws {
        let dim = weight.count
        let act = activationDType
        try require(x.dtype == act && out.dtype == act && weight.dtype == act, "rmsNorm",
                    "x \(x), weight \(weight), out \(out) (want \(act))")
        try require(dim > 0 && x.count % dim == 0 && out.count == x.count, "rmsNorm",
                    "x \(x), weight \(weight), out \(out)")
        if let threads = vectorNormThreads(dim, [x, weight, out]) {
            try launch("rms_norm_vec_\(kernelSuffix)", in: "layernorm", grid: (x.count / dim, 1, 1), block: (threads, 1, 1),
                       [x.device, weight.device, out.device, .int32(Int32(dim)), .float(epsilon)])
            return
        }
        try launch("rms_norm_\(kernelSuffix)", in: "layernorm", grid: (x.count / dim, 1, 1), block: (Self.normThreads(dim), 1, 1),
                   [x.device, weight.device, out.device, .int32(Int32(dim)), .float(epsilon)])
    }

    public func addRMSNorm(_ x: Tensor, residual: Tensor, weight: Tensor, epsilon: Float, out: Tensor) throws {
        let dim = weight.count
        let act = activationDType
        try require(x.dtype == act && residual.dtype == act && out.dtype == act && weight.dtype == act, "addRMSNorm",
                    "x \(x), residual \(residual), weight \(weight), out \(out) (want \(act))")
        try require(dim > 0 && x.count % dim == 0 && residual.count == x.count && out.count == x.count, "addRMSNorm",
                    "x \(x), residual \(residual), weight \(weight), out \(out)")
        let threads = vectorNormThreads(dim, [x, residual, weight, out])
        try launch(threads == nil ? "add_rms_norm_\(kernelSuffix)" : "add_rms_norm_vec_\(kernelSuffix)", in: "layernorm",
                   grid: (x.count / dim, 1, 1), block: (threads ?? Self.normThreads(dim), 1, 1),
                   [x.device, residual.device, weight.device, out.device, .int32(Int32(dim)), .float(epsilon)])
    }

    public func rmsNorm(_ x: Tensor, residual: Tensor?, weight: Tensor, epsilon: Float, out: Tensor, feeding: LinearWeight) throws {
        let dim = weight.count
        let tensors = [x, weight, out] + (residual.map { [$0] } ?? [])
        guard dim > 0, x.count % dim == 0, let threads = vectorNormThreads(dim, tensors),
              tensors.allSatisfy({ $0.dtype == .bfloat16 }), out.count == x.count, residual.map({ $0.count == x.count }) ?? true,
              let (codes, scales, grouped) = try quantizedInputScratch(feeding: feeding, rows: x.count / dim, depth: dim)
        else {
            if let residual {
                return try addRMSNorm(x, residual: residual, weight: weight, epsilon: epsilon, out: out)
            }
            return try rmsNorm(x, weight: weight, epsilon: epsilon, out: out)
        }
        let arguments: [KernelArgument] = [x.device] + (residual.map { [$0.device] } ?? [])
            + [weight.device, out.device, .int32(Int32(dim)), .float(epsilon), codes.device, scales.device]
        try launch((residual == nil ? "" : "add_") + "rms_norm_vec_quant_fp8\(grouped ? "_groups" : "")_bf16", in: "layernorm",
                   grid: (x.count / dim, 1, 1), block: (threads, 1, 1), arguments)
        quantizedInputWritten(out, grouped: grouped)
    }

    /// Threads for the one-pass norms (layernorm.cu's `*_vec`: two 8-element chunks a thread, 16-byte
    /// accesses), or nil where they do not apply (D not a multiple of 8, over 16,384, or a tensor not
    /// 16-byte aligned).
    func vectorNormThreads(_ dim: Int, _ tensors: [Tensor]) -> Int? {
        guard dim % 8 == 0, dim <= 8 * 2 * 1024, tensors.allSatisfy({ $0.address % 16 == 0 }) else { return nil }
        return min(1024, max(32, (dim / 16 + 31) / 32 * 32))
    }

    /// One warp per 256 elements of the row, 1 to 32 warps.
    static func normThreads(_ dim: Int) -> Int { min(1024, max(32, (dim + 255) / 256 * 32)) }

    public func rotaryEmbedding(query: Tensor, key: Tensor, positions: Tensor, cosSinCache: Tensor, headSize: Int) throws {
        let tokens = positions.count
        try require(query.dtype == activationDType && key.dtype == activationDType && positions.dtype == .int32
                    && cosSinCache.dtype == .float32 && cosSinCache.rank == 2, "rotaryEmbedding",
                    "query \(query), key \(key), positions \(positions), cosSinCache \(cosSinCache)")
        guard tokens > 0 else { return }
        let rotaryDim = cosSinCache.shape[1]
        try require(headSize > 0 && query.count % (tokens * headSize) == 0 && key.count % (tokens * headSize) == 0
                    && rotaryDim % 2 == 0 && rotaryDim <= headSize, "rotaryEmbedding",
                    "query \(query), key \(key), \(tokens) tokens, headSize \(headSize), rotaryDim \(rotaryDim)")
        let numHeads = query.count / (tokens * headSize)
        let numKVHeads = key.count / (tokens * headSize)
        try launch("rotary_neox_\(kernelSuffix)", in: "rotary", grid: (tokens, 1, 1), block: (256, 1, 1),
                   [positions.device, query.device, key.device, cosSinCache.device, .int32(Int32(numHeads)),
                    .int32(Int32(numKVHeads)), .int32(Int32(headSize)), .int32(Int32(rotaryDim)),
                    .int32(Int32(cosSinCache.shape[0]))])
    }

    /// The fewest tokens split_qkv_rows takes (a row a CTA); fewer go to split_qkv_vec (a CTA per few heads,
    /// spread over more CTAs: 5.3 / 5.7 / 6.7 µs a layer at 1 / 8 / 32 tokens on an H200, against
    /// split_qkv_rows' 7.2 / 7.5 / 8.2; docs/gpu-runs/2026-11-30b/run19).
    static let splitQKVRowsMinTokens = 64

    public func splitQKV(_ qkv: Tensor, query: Tensor, kv: KVDestination, headSize: Int,
                         rotary: (positions: Tensor, cosSinCache: Tensor)?) throws {
        let act = activationDType
        let tokens = query.rank == 2 ? query.shape[0] : 0
        try require(qkv.dtype == act && query.dtype == act && query.rank == 2 && headSize > 0
                    && query.shape[1] % headSize == 0 && tokens > 0 && qkv.count % tokens == 0
                    && (qkv.count / tokens - query.shape[1]) % (2 * headSize) == 0, "splitQKV",
                    "qkv \(qkv) into query \(query), headSize \(headSize) (want \(act))")
        let numHeads = query.shape[1] / headSize, numKVHeads = (qkv.count / tokens - query.shape[1]) / (2 * headSize)
        let kvWidth = numKVHeads * headSize
        // key, value: the tensors, or the cache's K and V with the slots to write (and their count).
        let destinations: (key: Tensor, value: Tensor, slots: Tensor?, numSlots: Int)
        switch kv {
        case .tensors(let key, let value):
            try require(key.dtype == act && value.dtype == act && key.count == tokens * kvWidth && value.count == key.count,
                        "splitQKV", "key \(key), value \(value) for \(tokens) tokens × \(kvWidth)")
            destinations = (key, value, nil, 0)
        case .cache(let cache, let slotMapping) where cache.isFloat8:
            // An fp8 cache: a decode step's few tokens split straight into it (split_qkv_vec_fp8_*, one kernel); a
            // prefill's split into scratch rows (split_qkv_rows), then written (and converted) by writeKVCache.
            if let rotary, let format = cache.key.dtype.float8Format, act == .bfloat16, tokens < Self.splitQKVRowsMinTokens,
               headSize % 8 == 0, rotary.cosSinCache.shape[1] % 16 == 0, headSize <= 8 * 128,
               cache.numKVHeads == numKVHeads, cache.headSize == headSize, slotMapping.dtype == .int32,
               slotMapping.count == tokens, rotary.positions.count == tokens, rotary.positions.dtype == .int32,
               rotary.cosSinCache.dtype == .float32, rotary.cosSinCache.shape[1] <= headSize,
               [qkv, query].allSatisfy({ $0.address % 32 == 0 }) {
                let numHeadsAll = numHeads + 2 * numKVHeads, threads = headSize / 8
                let headsPerCTA = max(1, min(numHeadsAll, 32 / threads))
                try launch("split_qkv_vec_fp8_\(Self.float8Name(format))", in: "rotary",
                           grid: (tokens, (numHeadsAll + headsPerCTA - 1) / headsPerCTA, 1), block: (threads, headsPerCTA, 1),
                           [qkv.device, rotary.positions.device, query.device, cache.key.device, cache.value.device,
                            slotMapping.device, .int64(Int64(cache.numBlocks * cache.blockSize)), rotary.cosSinCache.device,
                            .int32(Int32(numHeads)), .int32(Int32(numKVHeads)), .int32(Int32(headSize)),
                            .int32(Int32(rotary.cosSinCache.shape[1])), .int32(Int32(rotary.cosSinCache.shape[0])),
                            .float(cache.keyScale), .float(cache.valueScale)])
                return
            }
            let key = try scratch(.fp8CacheKeys, shape: [tokens, kvWidth], dtype: act)
            let value = try scratch(.fp8CacheValues, shape: [tokens, kvWidth], dtype: act)
            try splitQKV(qkv, query: query, kv: .tensors(key: key, value: value), headSize: headSize, rotary: rotary)
            try writeKVCache(key: key, value: value, cache: cache, slotMapping: slotMapping)
            return
        case .cache(let cache, let slotMapping):
            try require(cache.key.dtype == act && cache.numKVHeads == numKVHeads && cache.headSize == headSize
                        && slotMapping.dtype == .int32 && slotMapping.count == tokens, "splitQKV",
                        "cache \(cache.key) of \(cache.numKVHeads)×\(cache.headSize), slots \(slotMapping) for \(tokens) tokens")
            destinations = (cache.key, cache.value, slotMapping, cache.numBlocks * cache.blockSize)
        }
        var rotaryDim = 0, maxPositions = 0
        if let rotary {
            rotaryDim = rotary.cosSinCache.shape[1]
            maxPositions = rotary.cosSinCache.shape[0]
            try require(rotary.positions.dtype == .int32 && rotary.positions.count == tokens
                        && rotary.cosSinCache.dtype == .float32 && rotary.cosSinCache.rank == 2
                        && rotaryDim % 2 == 0 && rotaryDim > 0 && rotaryDim <= headSize, "splitQKV",
                        "positions \(rotary.positions), cosSinCache \(rotary.cosSinCache) for \(tokens) tokens of headSize \(headSize)")
        }
        // 8 dims a thread where the head allows (split_qkv_vec), else one or two; heads per CTA: few for a
        // decode step's few tokens (more CTAs), more for a prefill's many (fewer, fuller CTAs).
        let numHeadsAll = numHeads + 2 * numKVHeads
        let isVector = headSize % 8 == 0 && rotaryDim % 16 == 0 && headSize <= 8 * 128
            && [qkv, query, destinations.key, destinations.value].allSatisfy { $0.address % 32 == 0 }
        let threads = isVector ? headSize / 8 : min(256, max(32, (max(rotaryDim / 2, headSize / 2) + 31) / 32 * 32))
        var headsPerCTA = max(1, min(numHeadsAll, (tokens >= 64 ? 256 : 32) / threads))
        var kernel = isVector ? "split_qkv_vec_\(kernelSuffix)" : "split_qkv_\(kernelSuffix)"
        var block = (threads, headsPerCTA, 1)
        // Many tokens: a whole row per CTA (split_qkv_rows). A prefill step of 8192 tokens on an H200: 133 µs a
        // layer, against 224 µs by split_qkv_vec (docs/gpu-runs/2026-11-30b/run18).
        if isVector && tokens >= Self.splitQKVRowsMinTokens {
            kernel = "split_qkv_rows_\(kernelSuffix)"
            headsPerCTA = numHeadsAll
            // A thread a unit of 8 dims (rotary.cu): a rotated head's rotaryDim / 16 pairs and its unrotated
            // dims, then the value heads' pieces.
            let chunks = headSize / 8, headUnits = chunks - rotaryDim / 16
            let units = (numHeads + numKVHeads) * headUnits + numKVHeads * chunks
            block = (min(1024, (units + 31) / 32 * 32), 1, 1)
        }
        try launch(kernel, in: "rotary",
                   grid: (tokens, (numHeadsAll + headsPerCTA - 1) / headsPerCTA, 1), block: block,
                   [qkv.device, rotary?.positions.device ?? .pointer(0), query.device, destinations.key.device,
                    destinations.value.device, destinations.slots?.device ?? .pointer(0), .int64(Int64(destinations.numSlots)),
                    rotary?.cosSinCache.device ?? .pointer(0), .int32(Int32(numHeads)),
                    .int32(Int32(numKVHeads)), .int32(Int32(headSize)), .int32(Int32(rotaryDim)),
                    .int32(Int32(maxPositions))])
    }

    public func writeKVCache(key: Tensor, value: Tensor, cache: PagedKVCache, slotMapping: Tensor) throws {
        let rowElements = cache.numKVHeads * cache.headSize
        let tokens = slotMapping.count
        let act = activationDType
        let fp8 = cache.key.dtype.float8Format
        try require(key.dtype == act && value.dtype == act && (cache.key.dtype == act || (fp8 != nil && act == .bfloat16))
                    && slotMapping.dtype == .int32, "writeKVCache",
                    "key \(key), value \(value), cache \(cache.key), slotMapping \(slotMapping)")
        try require(key.count == tokens * rowElements && value.count == key.count, "writeKVCache",
                    "key \(key), value \(value) for \(tokens) slots of \(cache.numKVHeads)×\(cache.headSize)")
        guard tokens > 0 else { return }
        var arguments: [KernelArgument] = [key.device, value.device, cache.key.device, cache.value.device, slotMapping.device,
                                           .int32(Int32(rowElements)), .int64(Int64(cache.numBlocks * cache.blockSize))]
        var kernel = "reshape_and_cache_\(kernelSuffix)"
        if let fp8 {
            kernel = "reshape_and_cache_fp8_\(Self.float8Name(fp8))"
            arguments += [.float(cache.keyScale), .float(cache.valueScale)]
        }
        try launch(kernel, in: "cache", grid: (tokens, 1, 1), block: (128, 1, 1), arguments)
    }

    public func siluAndMul(_ x: Tensor, out: Tensor) throws {
        try require(x.dtype == activationDType && out.dtype == activationDType && x.rank == 2 && x.shape[1] % 2 == 0,
                    "siluAndMul", "x \(x), out \(out) (want \(activationDType) [T, 2I])")
        let (tokens, inner) = (x.shape[0], x.shape[1] / 2)
        try require(out.count == tokens * inner, "siluAndMul", "out \(out) for x \(x)")
        if inner % 8 == 0, x.address % 32 == 0, out.address % 32 == 0 {
            try launch("silu_and_mul_vec_\(kernelSuffix)", in: "elementwise", grid: (tokens, (inner + 2047) / 2048, 1),
                       block: (256, 1, 1), [x.device, out.device, .int32(Int32(inner))])
            return
        }
        try launch("silu_and_mul_\(kernelSuffix)", in: "elementwise", grid: (tokens, (inner + 1023) / 1024, 1), block: (256, 1, 1),
                   [x.device, out.device, .int32(Int32(inner))])
    }

    public func siluAndMul(_ x: Tensor, out: Tensor, feeding: LinearWeight) throws {
        guard x.dtype == .bfloat16, out.dtype == .bfloat16, x.rank == 2, x.shape[1] % 16 == 0, out.count == x.count / 2,
              x.shape[1] / 2 <= 8 * 4 * 512, x.address % 16 == 0, out.address % 16 == 0,
              let (codes, scales, grouped) = try quantizedInputScratch(feeding: feeding, rows: x.shape[0], depth: x.shape[1] / 2)
        else { return try siluAndMul(x, out: out) }
        try launch("silu_and_mul_quant_fp8\(grouped ? "_groups" : "")_bf16", in: "elementwise", grid: (x.shape[0], 1, 1), block: (512, 1, 1),
                   [x.device, out.device, codes.device, scales.device, .int32(Int32(x.shape[1] / 2))])
        quantizedInputWritten(out, grouped: grouped)
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

    public func concatenateColumns(_ parts: Tensor, out: Tensor) throws {
        try require(parts.rank == 3 && out.rank == 2 && parts.dtype == .float32 && out.dtype == .float32
                    && parts.shape[1] == out.shape[0] && out.shape[1] <= parts.shape[0] * parts.shape[2],
                    "concatenateColumns", "parts \(parts), out \(out) (want f32 [P, S, W] → [S, V ≤ P·W])")
        guard out.count > 0 else { return }
        try launch("concat_columns_f32", in: "embedding", grid: (out.shape[0], parts.shape[0], 1), block: (256, 1, 1),
                   [parts.device, out.device, .int32(Int32(out.shape[0])), .int32(Int32(parts.shape[2])),
                    .int32(Int32(out.shape[1]))])
    }

    /// f32 `out = bf16(out + bias)` (no bias: `bf16(out)`): a bf16 linear's f32 output (the logits) carries
    /// the values PyTorch's bf16 matmul yields before `.float()`, as transformers' and vLLM's logits do.
    func roundToBFloat16(_ out: Tensor, bias: Tensor?) throws {
        try launch("bias_round_bf16_f32", in: "elementwise", grid: ((out.count + 1023) / 1024, 1, 1), block: (256, 1, 1),
                   [out.device, bias?.device ?? .pointer(0), .int32(Int32(bias?.count ?? 1)), .int64(Int64(out.count))])
    }
}
