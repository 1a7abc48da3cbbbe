import FoundationEssentials
import VLLMCompute

/// Paged attention for steps that hold prefill chunks by Kernels/prefill_attention.cu: flash attention 2 on
/// tensor cores (mma.m16n8k16, bf16 in, f32 accumulate). A CTA owns 128 query rows — ⌊128 / G⌋ tokens of
/// one sequence × the G query heads of one KV head, so each K/V tile is read once for all G — and walks
/// that sequence's keys (cached prefix included) in tiles staged by cp.async through the block table.
extension CUDABackend {
    /// `SWIFT_VLLM_PREFILL_ATTENTION=0` sends prefill steps to attention.cu's general kernel, so both paths
    /// can be timed on one binary.
    static let isPrefillAttentionEnabled = ProcessInfo.processInfo.environment["SWIFT_VLLM_PREFILL_ATTENTION"] != "0"
    /// `SWIFT_VLLM_PREFILL_WGMMA=0` keeps S = Q·Kᵀ on mma.sync on Hopper too (prefill_attention_bf16_d128).
    static let isPrefillWgmmaEnabled = ProcessInfo.processInfo.environment["SWIFT_VLLM_PREFILL_WGMMA"] != "0"

    /// prefill_attention.cu's PREFILL_WARPS: a CTA is 8 warps of 16 query rows each.
    static let prefillAttentionWarps = 8
    /// prefill_attention.cu's PREFILL_ROWS: the (token, head) rows a CTA owns.
    static let prefillAttentionRows = 16 * prefillAttentionWarps
    /// Most query heads per KV head: a CTA then still holds 8 tokens.
    static let prefillAttentionMaxGroup = 16

    /// Keys a tile for each head size that has an entry point (prefill_attention.cu's BC): 64, and 32 for
    /// 256, whose 128 accumulators a lane leave no room for 64 keys' scores.
    static func prefillAttentionKeyTile(headSize: Int) -> Int? {
        switch headSize {
        case 64, 128: 64
        case 256: 32
        default: nil
        }
    }

    /// Dynamic shared memory of one CTA: two stages of K and V tiles and the Q tile, rows padded by 8
    /// elements (prefill_attention.cu's PrefillShape::SHARED bf16 elements): 54 KiB for d64, 102 KiB for
    /// d128 (two CTAs an SM on sm_90), 132 KiB for d256.
    static func prefillAttentionSharedBytes(headSize: Int, keyTile: Int) -> Int {
        (2 * 2 * keyTile + prefillAttentionRows) * (headSize + 8) * DType.bfloat16.size
    }

    /// The wgmma kernel's (prefill_attention_wgmma_bf16_d128, PrefillShape<D, BC, true>::SHARED): Q and the K tiles
    /// unpadded in the 128-byte swizzle, the V tiles padded, and 1 KiB to align the stages — 99 KiB at d128.
    static func prefillAttentionWgmmaSharedBytes(headSize: Int, keyTile: Int) -> Int {
        (2 * (keyTile * headSize + keyTile * (headSize + 8)) + prefillAttentionRows * headSize + 512) * DType.bfloat16.size
    }

    /// Whether S = Q·Kᵀ runs on the warpgroup MMA: a bf16 cache at head size 128 on sm_90 (the entry point is
    /// compiled for sm_90a).
    func prefillTakesWgmma(cache: PagedKVCache) -> Bool {
        Self.isPrefillWgmmaEnabled && !cache.isFloat8 && cache.headSize == 128 && context.computeCapability == (9, 0)
    }

    /// The most dynamic shared memory a CTA may opt into on a device of this compute capability (the CUDA
    /// programming guide's table): 227 KiB on sm_90 and sm_100, 163 KiB on sm_80 and sm_87, 99 KiB elsewhere.
    static func maxSharedBytesPerBlock(computeCapability: (major: Int, minor: Int)) -> Int {
        switch computeCapability {
        case (9, 0), (10, _): 227 << 10
        case (8, 0), (8, 7): 163 << 10
        default: 99 << 10
        }
    }

    /// out [T, numHeads·headSize] = attention over the paged cache for a step holding at least one query of
    /// more than one token (decode tokens mixed in are served too). Returns false, launching nothing, where
    /// the kernel does not apply — pure decode steps, f32 activations, a GPU before sm_80 (no bf16 MMA or
    /// cp.async), a head size other than 64, 128 or 256, more than 16 query heads per KV head, tensors not
    /// 16-byte aligned, or more shared memory than the device allows — so the caller runs attention.cu's
    /// general kernel. Any block size works: each key's row is found through the block table.
    func prefillAttention(query: Tensor, cache: PagedKVCache, metadata: AttentionMetadata, scale: Float,
                          out: Tensor) throws -> Bool {
        let headSize = cache.headSize
        let tokens = metadata.numTokens
        guard metadata.maxQueryLen > 1, activationDType == .bfloat16, context.computeCapability.major >= 8,
              let keyTile = Self.prefillAttentionKeyTile(headSize: headSize), tokens > 0,
              !cache.isFloat8 || headSize <= 128,  // fp8 entry points exist for d64 and d128
              query.count % (tokens * headSize) == 0 else { return false }
        let numHeads = query.count / (tokens * headSize)
        let wgmma = prefillTakesWgmma(cache: cache)
        let sharedBytes = wgmma ? Self.prefillAttentionWgmmaSharedBytes(headSize: headSize, keyTile: keyTile)
            : Self.prefillAttentionSharedBytes(headSize: headSize, keyTile: keyTile)
        guard numHeads > 0, numHeads % cache.numKVHeads == 0,
              numHeads / cache.numKVHeads <= Self.prefillAttentionMaxGroup,
              [query.address, out.address, cache.key.address, cache.value.address].allSatisfy({ $0 % 16 == 0 }),
              sharedBytes <= Self.maxSharedBytesPerBlock(computeCapability: context.computeCapability)
        else { return false }
        _ = try attentionHeads(query: query, cache: cache, metadata: metadata, out: out)

        // Sequence s owns CTAs f(s) ..< f(s+1), f(s) = ⌊queryStartLoc[s] / tokensPerTile⌋ + s: its
        // ⌈queryLen / tokensPerTile⌉ tiles and at most one empty CTA, so the grid needs no host copy of the
        // query lengths. Each CTA finds its sequence on the device.
        let group = numHeads / cache.numKVHeads
        let tokensPerTile = Self.prefillAttentionRows / group
        let cacheName = cache.key.dtype.float8Format.map(Self.float8Name) ?? "bf16"
        try launch("prefill_attention_\(wgmma ? "wgmma_" : "")\(cacheName)_d\(headSize)", in: "prefill_attention",
                   grid: (tokens / tokensPerTile + metadata.numSeqs, cache.numKVHeads, 1),
                   block: (32 * Self.prefillAttentionWarps, 1, 1), sharedBytes: sharedBytes,
                   [query.device, cache.key.device, cache.value.device, metadata.queryStartLoc.device,
                    metadata.seqLens.device, metadata.blockTables.device, out.device,
                    .int32(Int32(metadata.numSeqs)), .int32(Int32(numHeads)), .int32(Int32(cache.numKVHeads)),
                    .int32(Int32(cache.blockSize)), .int32(Int32(metadata.blockTables.shape[1])), .float(scale),
                    .float(cache.keyScale), .float(cache.valueScale)])
        return true
    }
}
