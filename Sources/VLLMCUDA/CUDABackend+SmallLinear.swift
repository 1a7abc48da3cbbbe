import FoundationEssentials
import VLLMCompute

/// Decode-sized linears by Kernels/linear.cu: at most 8 bf16 tokens, the weight streamed from DRAM once
/// for all of them (tensor-core MMAs, f32 sums), where cuBLASLt's general kernels leave bandwidth unused; and
/// `fusedLinear`, the decode linears with the SiLU·mul or the residual add after them.
extension CUDABackend {
    /// Most tokens linear.cu's kernel takes: the 8 columns of one mma.m16n8k16.
    static let smallLinearMaxTokens = 8

    /// `SWIFT_VLLM_SMALL_LINEAR=0` sends every linear to cuBLASLt, so both paths can be timed on one binary.
    static let isSmallLinearEnabled = ProcessInfo.processInfo.environment["SWIFT_VLLM_SMALL_LINEAR"] != "0"

    /// `SWIFT_VLLM_FUSED_LINEAR=0` declines every `fusedLinear`, so that the model runs its ops one by one (to time both
    /// on one binary).
    static let isFusedLinearEnabled = ProcessInfo.processInfo.environment["SWIFT_VLLM_FUSED_LINEAR"] != "0"

    /// `SWIFT_VLLM_FUSED_SPLIT=0` declines the q/k/v split alone (`LinearEpilogue.splitQKV`), to time it on one binary.
    static let isFusedSplitEnabled = ProcessInfo.processInfo.environment["SWIFT_VLLM_FUSED_SPLIT"] != "0"

    /// Decode steps' linears with the op after them: linear_small_bf16 for bf16 weights (≤ 8 tokens; not the q/k/v
    /// split), linear_int4_small or linear_int4_decode for 4- and 8-bit ones (≤ 16 tokens, no act-order), their mode
    /// parameters saying which epilogue; FP8 weights and larger steps decline.
    public func fusedLinear(_ x: Tensor, weight: LinearWeight, bias: Tensor?, epilogue: LinearEpilogue, out: Tensor) throws -> Bool {
        guard Self.isFusedLinearEnabled, activationDType == .bfloat16, x.dtype == .bfloat16, out.dtype == .bfloat16 else { return false }
        if case .splitQKV = epilogue, !Self.isFusedSplitEnabled { return false }
        switch weight {
        case .dense(let tensor):
            // The q/k/v split folded into linear_small made bf16 W1 slower (H200, docs/gpu-runs/2026-12-02d run3: TPOT
            // 4.695 / 4.697 ms against 4.645 / 4.647 with split_qkv_vec after it), so linear.cu does not take it.
            if case .splitQKV = epilogue { return false }
            guard Self.isSmallLinearEnabled else { return false }
            return try smallLinear(x, weight: tensor, bias: bias, out: out, epilogue: epilogue)
        case .int4(let packed):
            let (columns, depth) = (packed.outFeatures, packed.inFeatures)
            guard packed.tensors.count == 2, depth > 0, x.count % depth == 0, x.address % 16 == 0,
                  (1...16).contains(x.count / depth), out.count == x.count / depth * epilogue.outColumns(columns),
                  !epilogue.isGated || columns % 2 == 0,
                  bias.map({ $0.dtype == .bfloat16 && $0.count == columns }) ?? true,
                  Optional(epilogue).modeArguments(columns: columns, tokens: x.count / depth,
                                                   rows: int4SmallRows(weight: packed, tokens: x.count / depth)) != nil
            else { return false }
            try int4Small(x, weight: packed, bias: bias, out: out, epilogue: epilogue)
            return true
        case .fp8:
            return false
        }
    }

    /// out [M, N] = x [M, K] · weight [N, K]ᵀ (+ bias [N]) by `linear_small_bf16`, or `linear_small_bf16_f32`
    /// for an f32 out (the logits: bias added in f32, then rounded to bf16, as the cuBLASLt path rounds them), with
    /// `epilogue` folded in (bf16 out only).
    /// Returns false, launching nothing, where the kernel does not apply — not all bf16, M > 8, K % 8 ≠ 0,
    /// x or weight not 16-byte aligned, or a GPU before sm_80 (no bf16 MMA) — so the caller uses cuBLASLt.
    /// `freshWeight`: a kernel queued before wrote `weight` (a dequantized scratch copy), so the kernel reads it only
    /// after waiting for that kernel; persistent weights are read before the wait, while the kernel before runs.
    func smallLinear(_ x: Tensor, weight: Tensor, bias: Tensor?, out: Tensor, freshWeight: Bool = false,
                     epilogue: LinearEpilogue? = nil) throws -> Bool {
        guard weight.rank == 2, context.computeCapability.major >= 8 else { return false }
        if case .splitQKV? = epilogue { return false }  // (see fusedLinear)
        let (columns, depth) = (weight.shape[0], weight.shape[1])
        guard columns > 0, depth > 0, depth % 8 == 0, x.count % depth == 0,
              columns <= Int(Int32.max), depth <= Int(Int32.max) else { return false }
        let tokens = x.count / depth
        let outColumns = epilogue?.outColumns(columns) ?? columns
        guard tokens >= 1, tokens <= Self.smallLinearMaxTokens, out.count == tokens * outColumns,
              x.dtype == .bfloat16, weight.dtype == .bfloat16, out.dtype == .bfloat16 || (out.dtype == .float32 && epilogue == nil),
              epilogue?.isGated != true || columns % 2 == 0,
              bias.map({ $0.dtype == .bfloat16 && $0.count == columns }) ?? true,
              x.address % 16 == 0, weight.address % 16 == 0 else { return false }
        // A CTA owns 8 weight rows (more CTAs: N 1024 still gives one per SM), or 16 where x outgrows L1
        // (8 tokens of K 14336: 224 KiB) and N still fills the GPU, so that each x load serves 16 rows.
        // Gated, half of a CTA's rows are gate rows and half the matching up rows.
        let xBytes = tokens * depth * DType.bfloat16.size
        let rowsPerBlock = xBytes > 128 << 10 && (columns + 15) / 16 >= context.multiprocessorCount ? 16 : 8
        guard let modeArguments = epilogue.modeArguments(columns: columns, tokens: tokens, rows: rowsPerBlock) else { return false }
        // Its warps (at most 8) split K; a warp's iteration covers 32 · LINEAR_LOADS · 8 / R elements.
        let kPerWarpIteration = 32 * 8 * 8 / rowsPerBlock
        let numWarps = min(8, (depth + kPerWarpIteration - 1) / kPerWarpIteration)
        var arguments: [KernelArgument] = [
            x.device, weight.device, bias?.device ?? .pointer(0), out.device, .int32(Int32(tokens)), .int32(Int32(columns)),
            .int32(Int32(depth)), .int32(Int32(rowsPerBlock)), .int32(freshWeight ? 1 : 0),
        ]
        if out.dtype == .bfloat16 { arguments += modeArguments }
        // A CTA's rows: R consecutive, or R/2 gate rows and their up rows — ⌈N / R⌉ CTAs either way.
        try kernels.launch(out.dtype == .float32 ? "linear_small_bf16_f32" : "linear_small_bf16", in: "linear",
                           grid: ((columns + rowsPerBlock - 1) / rowsPerBlock, 1, 1), block: (32 * numWarps, 1, 1),
                           stream: stream, arguments: arguments)
        if let epilogue { try profiler.mark("linear N \(columns) K \(depth) + \(epilogue.name)") }
        return true
    }

    /// GPU time of one linear by each path, in µs (median).
    public struct LinearTiming: Sendable {
        /// linear.cu's kernel; nil where it does not apply to the shape.
        public var smallLinear: Double?
        /// cuBLASLt (and, for an f32 out, the rounding kernel after it).
        public var blasLt: Double
        /// The same shape as a 4-bit weight (groups of 128), the path `linear` picks for it.
        public var int4: Double?
        /// The 4-bit weight by each path where it applies, from 17 tokens on (where the automatic choice changes).
        public var int4ByPath: [(path: Int4LinearPath, microseconds: Double)] = []
        /// The same shape as an e4m3 weight, by linear_fp8_small (up to 16 tokens) and by activation quantization +
        /// cuBLASLt's FP8 GEMM, with fast accumulation and without; nil where the device has no FP8 tensor cores.
        public var fp8Small: Double?
        public var fp8BlasLt: Double?
        public var fp8BlasLtExactAccumulation: Double?
        /// The e4m3 weight with 128 × 128 block scales (DeepSeek / Qwen3-FP8) by each of its paths that applies.
        public var fp8BlocksByPath: [(path: FP8LinearPath, microseconds: Double)] = []
    }

    /// Times `out [tokens, columns] = x · weightᵀ` (K = `depth`, no bias) by linear.cu and by cuBLASLt: an
    /// event before each of `repetitions` launches queued behind `holdStream` (so each gap is GPU time), the
    /// median gap, with the weight rotated over copies of ≥ 200 MB in all so that L2 (50 MB) never holds it.
    /// Needs bf16 activations.
    public func benchmarkLinear(tokens: Int, columns: Int, depth: Int, f32Out: Bool, repetitions: Int = 50) throws
        -> LinearTiming
    {
        try require(activationDType == .bfloat16 && tokens > 0 && columns > 0 && depth > 0 && repetitions > 0,
                    "benchmarkLinear", "\(activationDType) activations, T \(tokens) N \(columns) K \(depth)")
        /// Weights of `bytes` bytes each, keyed 0, 1, …, until ≥ 200 MB in all so that L2 (50 MB) never holds the one
        /// timed; nil where `make` declines the shape (it declines every key or none).
        func copies<W>(bytes: Int, _ make: (UInt64) throws -> W?) throws -> [W]? {
            guard let first = try make(0) else { return nil }
            return try [first] + (1..<max(2, (200_000_000 + bytes - 1) / bytes)).map { try make(UInt64($0))! }
        }
        let weights = try copies(bytes: columns * depth * DType.bfloat16.size) { key in
            let weight = try allocate(shape: [columns, depth], dtype: .bfloat16)
            try fillDummy(weight, key: key)
            return weight
        }!
        let x = try allocate(shape: [tokens, depth], dtype: .bfloat16)
        try fillDummy(x, key: 0x5EED)
        let out = try allocate(shape: [tokens, columns], dtype: f32Out ? .float32 : .bfloat16)

        /// The median GPU time of `body`, each launch on the next of `weights`.
        func medianMicroseconds<W>(_ weights: [W], _ body: (W) throws -> Void) throws -> Double {
            for copy in 0..<min(3, weights.count) { try body(weights[copy]) }  // module load, plan, clocks up
            let events = try (0...repetitions).map { _ in try CUDAEvent(context: context) }
            try holdStream(milliseconds: 5)
            for repetition in 0..<repetitions {
                try events[repetition].record(on: stream)
                try body(weights[repetition % weights.count])
            }
            try events[repetitions].record(on: stream)
            try events[repetitions].synchronize()
            let gaps = try (0..<repetitions).map { try Double(events[$0 + 1].milliseconds(since: events[$0])) * 1000 }
            return gaps.sorted()[repetitions / 2]
        }

        var small: Double?
        if try smallLinear(x, weight: weights[0], bias: nil, out: out) {
            small = try medianMicroseconds(weights) { weight in _ = try smallLinear(x, weight: weight, bias: nil, out: out) }
        }
        let blasLtTime = try medianMicroseconds(weights) { weight in
            try blasLt.matmul(x: x, weight: weight, bias: nil, out: out)
            if f32Out { try roundToBFloat16(out, bias: nil) }
        }
        var timing = LinearTiming(smallLinear: small, blasLt: blasLtTime)
        if depth % 128 == 0,
           let int4Weights = try copies(bytes: columns * depth / 2, { try makeDummyInt4Weight(n: columns, k: depth, groupSize: 128, bits: 4, key: $0) }) {
            func int4Timing(_ path: Int4LinearPath) throws -> Double {
                try medianMicroseconds(int4Weights) { try linear(x, weight: $0, bias: nil, out: out, path: path) }
            }
            timing.int4 = try int4Timing(.automatic)
            if tokens > 16 {
                let paths: [Int4LinearPath] = [.small, .gemm] + (hasWgmma && !f32Out ? [.wgmma] : []) + [.dequantized]
                for path in paths where path != .small || tokens <= Self.int4SmallMaxTokens {
                    timing.int4ByPath.append((path, try int4Timing(path)))
                }
            }
        }
        if !f32Out, depth % 16 == 0,
           let fp8Weights = try copies(bytes: columns * depth, { try makeDummyFP8Weight(n: columns, k: depth, blockSize: nil, key: $0) }) {
            func fp8Timing(_ path: FP8LinearPath) throws -> Double {
                try medianMicroseconds(fp8Weights) { try linear(x, weight: $0, bias: nil, out: out, path: path) }
            }
            if tokens <= Self.fp8SmallMaxTokens { timing.fp8Small = try fp8Timing(.small) }
            timing.fp8BlasLt = try fp8Timing(.blasLt)
            timing.fp8BlasLtExactAccumulation = try fp8Timing(.blasLtExactAccumulation)
        }
        if !f32Out, depth % 128 == 0,
           let blockWeights = try copies(bytes: columns * depth, { try makeDummyFP8Weight(n: columns, k: depth, blockSize: (128, 128), key: $0) }) {
            let paths: [FP8LinearPath] = (tokens <= Self.fp8SmallMaxTokens ? [.small] : [])
                + (fp8BlockWgmmaApplies(depth: depth, blockSize: (128, 128)) ? [.wgmma] : [])
                + (fp8BlockBlasLtApplies(depth: depth, blockSize: (128, 128)) ? [.blasLt] : []) + [.dequantized]
            for path in paths {
                timing.fp8BlocksByPath.append((path, try medianMicroseconds(blockWeights) {
                    try linear(x, weight: $0, bias: nil, out: out, path: path)
                }))
            }
        }
        return timing
    }
}

extension LinearEpilogue {
    /// out's columns for a product of `columns`.
    func outColumns(_ columns: Int) -> Int {
        switch self {
        case .siluAndMul: columns / 2
        case .addToOut: columns
        case .splitQKV(let cache, _, _, _, let headSize): columns - 2 * cache.numKVHeads * headSize
        }
    }
}

extension Optional where Wrapped == LinearEpilogue {
    /// The kernels' mode parameters (linear_epilogue.cuh's LINEAR_MODE_PARAMETERS): LINEAR_STORE, LINEAR_GATED,
    /// LINEAR_ADD or LINEAR_QKV, and for splitQKV where the split goes. Nil where a kernel of `rows` rows a CTA cannot
    /// split this product: a head of headSize % rows ≠ 0 (a CTA holds rows / 2 rotary pairs of one head), a rotary
    /// embedding over part of a head, a product, cache, slots or positions of other shapes or dtypes.
    func modeArguments(columns: Int, tokens: Int, rows: Int) -> [KernelArgument]? {
        let mode: Int32
        switch self {
        case nil: mode = 0
        case .siluAndMul: mode = 1
        case .addToOut: mode = 2
        case .splitQKV(let cache, let slotMapping, let positions, let cosSinCache, let headSize):
            let kvColumns = 2 * cache.numKVHeads * headSize
            let format: Int32? = cache.key.dtype == .bfloat16 ? 0 : cache.key.dtype.float8Format.map { $0 == .e4m3fn ? 1 : 2 }
            guard let format, headSize > 0, headSize % rows == 0, rows % 2 == 0, cache.headSize == headSize,
                  columns > kvColumns, (columns - kvColumns) % headSize == 0,
                  cosSinCache.dtype == .float32, cosSinCache.rank == 2, cosSinCache.shape[1] == headSize,
                  slotMapping.dtype == .int32, slotMapping.count == tokens, positions.dtype == .int32, positions.count == tokens
            else { return nil }
            return [.int32(3), positions.device, slotMapping.device, cosSinCache.device, cache.key.device, cache.value.device,
                    .int64(Int64(cache.numBlocks * cache.blockSize)), .int32(Int32((columns - kvColumns) / headSize)),
                    .int32(Int32(cache.numKVHeads)), .int32(Int32(headSize)), .int32(Int32(cosSinCache.shape[0])),
                    .int32(format), .float(cache.keyScale), .float(cache.valueScale)]
        }
        return [.int32(mode), .pointer(0), .pointer(0), .pointer(0), .pointer(0), .pointer(0), .int64(0), .int32(0), .int32(0),
                .int32(0), .int32(0), .int32(0), .float(1), .float(1)]
    }
}
