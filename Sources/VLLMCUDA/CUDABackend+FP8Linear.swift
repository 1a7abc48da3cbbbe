import CCUDA
import FoundationEssentials
import VLLMCompute

/// FP8 e4m3 weights (`fp8` checkpoints, compressed-tensors float-quantized, `--quantization fp8`) by
/// Kernels/linear_fp8.cu and cuBLASLt's FP8 GEMM: the weight stays e4m3 (half of bf16's bytes) with one f32 scale a
/// row. Decode steps of at most 8 tokens (16 on all but the largest linears) stream it once through linear_fp8_small
/// (bf16 activations, the weight widened exactly in registers); larger steps quantize the activations per token —
/// in the op that writes them where the model says which linear they feed (`rmsNorm(…feeding:)`,
/// `siluAndMul(…feeding:)`), else in quantize_fp8_rows_bf16 — and multiply on FP8 tensor cores, the two scale vectors
/// applied after the sums, as vLLM's W8A8: by linear_fp8_wgmma at 17–128 tokens on Hopper where it is faster
/// (`fp8WgmmaTile`), else by cuBLASLt.
extension CUDABackend: FP8LinearBackend {
    /// Whether this device runs FP8 GEMMs: compute capability 8.9 (Ada) and later.
    public var hasFP8TensorCores: Bool { context.computeCapability >= (8, 9) }

    /// Most tokens linear_fp8_small takes (2 groups of 8 mma columns).
    public static let fp8SmallMaxTokens = 16

    /// Whether a step of `tokens` takes linear_fp8_small (bench-linear on the H200, docs/gpu-runs/2026-12-01e run10: at
    /// 9–16 tokens it beats per-token quantization + cuBLASLt's FP8 GEMM on Llama-3-8B's qkv, o and down — 18.1 vs
    /// 19.6 µs, 12.6 vs 19.5, 25.9 vs 45.4 at 16 — but not on gate_up, 47.9 vs 44.3; at 24–32 cuBLASLt wins in sum).
    public static func fp8TakesSmall(tokens: Int, columns: Int, depth: Int) -> Bool {
        tokens <= 8 || (tokens <= fp8SmallMaxTokens && columns * depth < 64 << 20)
    }

    /// `SWIFT_VLLM_FUSED_QUANT=0`: every FP8 linear quantizes its own input (quantize_fp8_rows_bf16, or
    /// quantize_fp8_groups_bf16 on block scales), none of the ops before it does (`quantizedInputScratch`), to time both on one binary.
    static let isQuantizedInputEnabled = ProcessInfo.processInfo.environment["SWIFT_VLLM_FUSED_QUANT"] != "0"

    /// `SWIFT_VLLM_FP8_FAST_ACCUM=0` turns cuBLASLt's fast FP8 accumulation off (vLLM's CUTLASS kernels use it).
    static let fp8FastAccumulation = ProcessInfo.processInfo.environment["SWIFT_VLLM_FP8_FAST_ACCUM"] != "0"

    /// How an fp8 linear runs: `automatic` by the step's tokens; the others force a path (check-gpu, bench-linear),
    /// `blasLtExactAccumulation` cuBLASLt without its fast FP8 accumulation, `wgmma` linear_fp8_wgmma (sm_90a; ≤ 128
    /// tokens, any number on block scales), `dequantized` a block-scaled weight widened to bf16 for cuBLASLt's bf16 GEMM.
    public enum FP8LinearPath: Sendable, Equatable {
        case automatic, small, blasLt, blasLtExactAccumulation, wgmma, dequantized
    }

    /// linear_fp8_wgmma's CTA (the entry point's suffix): one warpgroup × 64 tokens (_n64: two CTAs an SM, 6 stages) or two
    /// warpgroups × 128 (_w2_n128: one CTA an SM, 5 stages), `tiles` of them over the step's tokens.
    public struct FP8WgmmaTile: Equatable, Sendable {
        var warpgroups: Int, tiles: Int
        var width: Int { 64 * warpgroups }
        var rows: Int { 64 * warpgroups }
        var threads: Int { 128 * warpgroups }
        var perSM: Int { warpgroups == 1 ? 2 : 1 }
        var stages: Int { warpgroups == 1 ? 6 : 5 }
        var kernel: String { warpgroups == 1 ? "linear_fp8_wgmma_bf16_n64" : "linear_fp8_wgmma_bf16_w2_n128" }
        /// The same tile on block scales (linear_fp8_wgmma_block).
        var blockKernel: String { warpgroups == 1 ? "linear_fp8_wgmma_block_bf16_n64" : "linear_fp8_wgmma_block_bf16_w2_n128" }
        /// FP8WgmmaTile::SHARED_BYTES: the stages (x's tokens and the weight's rows, 128 bytes each), their barriers, 1024 to align.
        var sharedBytes: Int { stages * ((width + rows) * 128 + 8) + 1024 }
    }

    /// The tile linear_fp8_wgmma takes a step of `tokens` × [N, K] in, or nil where cuBLASLt's FP8 GEMM is as fast (the
    /// H200, docs/gpu-runs/2026-12-02e run4 / run5, µs, cuBLASLt with the quantization before it against this kernel):
    /// every linear at 17–64 tokens (Llama-3-8B down 47.1 against 24.4, o 20.0 against 12.2, gate_up 42.2 against 41.6);
    /// at 65–128 all but the widest (gate_up, N ≥ 16384: 40.7 against 52.1) — two 64-token tiles, or on the deep ones (K ≥
    /// 8192) one tile of two warpgroups, K split (Qwen2.5-14B down 47.1 against 33.8, where 64-token tiles took 47.3).
    /// Past 128 none: alone only down was faster (Llama-3-8B at 256 tokens 40.2 against 48.6), and W2's steps of 129–256
    /// sequences not measurably (run6: 10.551 / 10.553 ms a step with it there against 10.523 / 10.524).
    public static func fp8WgmmaTile(tokens: Int, columns: Int, depth: Int) -> FP8WgmmaTile? {
        switch tokens {
        case 1...64: return FP8WgmmaTile(warpgroups: 1, tiles: 1)
        case 65...128 where columns < 16384:
            return depth >= 8192 ? FP8WgmmaTile(warpgroups: 2, tiles: 1) : FP8WgmmaTile(warpgroups: 1, tiles: 2)
        default: return nil
        }
    }

    /// `SWIFT_VLLM_FP8_WGMMA=0` leaves every FP8 GEMM to cuBLASLt (to time both on one binary).
    static let isFP8WgmmaEnabled = ProcessInfo.processInfo.environment["SWIFT_VLLM_FP8_WGMMA"] != "0"

    /// Whether linear_fp8_wgmma runs here at all: compute capability 9.0 (compiled for sm_90a) with tensor maps, K % 128 == 0.
    func fp8WgmmaApplies(depth: Int) -> Bool { hasWgmma && depth % 128 == 0 }

    /// Whether linear_fp8_wgmma_block runs a block-scaled weight: `fp8WgmmaApplies`, blocks of whole 128-k chunks, whole blocks.
    func fp8BlockWgmmaApplies(depth: Int, blockSize: (n: Int, k: Int)) -> Bool {
        fp8WgmmaApplies(depth: depth) && blockSize.k % 128 == 0 && depth % blockSize.k == 0
    }

    /// Whether cuBLASLt's block-scaled FP8 GEMM runs a block-scaled weight: Hopper (its BLK128x128_32F and VEC128_32F
    /// modes), blocks of 128 × 128, K a multiple of 512 (the weight scales' rows, K / 128, a multiple of 4).
    func fp8BlockBlasLtApplies(depth: Int, blockSize: (n: Int, k: Int)) -> Bool {
        context.computeCapability.major == 9 && blockSize == (128, 128) && depth % 512 == 0
    }

    /// linear_fp8_wgmma_block's tile for `tokens`: fp8WgmmaTile's up to 128 tokens where it gives one (past that, and
    /// on the widest linears at 65–128, two-warpgroup tiles of 128 tokens, as many as the step needs).
    static func fp8BlockWgmmaTile(tokens: Int, columns: Int, depth: Int) -> FP8WgmmaTile {
        fp8WgmmaTile(tokens: tokens, columns: columns, depth: depth) ?? FP8WgmmaTile(warpgroups: 2, tiles: (tokens + 127) / 128)
    }

    /// The path `linear` takes for `tokens` × [N, K] when asked for `.automatic`: linear_fp8_small (`fp8TakesSmall`),
    /// else linear_fp8_wgmma where it applies and wins (`fp8WgmmaTile`), else cuBLASLt. Block scales past 16 tokens:
    /// cuBLASLt's block-scaled GEMM wherever it applies — faster than linear_fp8_wgmma_block at every size measured
    /// (H200, docs/gpu-runs/2026-12-03b run1–run2: W3 67.6 against 64.3 req/s, its 33–128-sequence steps 5.43 against
    /// 6.72 ms) — else linear_fp8_wgmma_block, else the weight widened to bf16.
    public func fp8Path(tokens: Int, columns: Int, depth: Int, blockSize: (n: Int, k: Int)? = nil) -> FP8LinearPath {
        if Self.fp8TakesSmall(tokens: tokens, columns: columns, depth: depth) { return .small }
        if let blockSize {
            if fp8BlockBlasLtApplies(depth: depth, blockSize: blockSize) { return .blasLt }
            return fp8BlockWgmmaApplies(depth: depth, blockSize: blockSize) ? .wgmma : .dequantized
        }
        if Self.isFP8WgmmaEnabled, fp8WgmmaApplies(depth: depth), Self.fp8WgmmaTile(tokens: tokens, columns: columns, depth: depth) != nil {
            return .wgmma
        }
        return .blasLt
    }

    /// `FP8Weight.tensors` of this backend: codes [N, K] e4m3, scales [N] f32.
    public func makeFP8Weight(_ weights: Float8QuantizedWeights) throws -> FP8Weight? {
        guard hasFP8TensorCores, activationDType == .bfloat16, weights.k % 16 == 0, weights.n > 0,
              weights.blockSize.map(Self.fp8BlocksApply) ?? true else {
            return nil
        }
        let codes = try weights.codes.withUnsafeBytes {
            try upload($0, sourceDType: .float8E4M3, shape: [weights.n, weights.k], dtype: .float8E4M3)
        }
        let scales = try makeTensor(weights.scales, shape: [weights.scales.count], dtype: .float32)
        return FP8Weight(outFeatures: weights.n, inFeatures: weights.k, tensors: [codes, scales], blockSize: weights.blockSize)
    }

    public func makeDummyFP8Weight(n: Int, k: Int, blockSize: (n: Int, k: Int)?, key: UInt64) throws -> FP8Weight? {
        guard hasFP8TensorCores, activationDType == .bfloat16, k % 16 == 0, n > 0, blockSize.map(Self.fp8BlocksApply) ?? true else {
            return nil
        }
        let codes = try allocate(shape: [n, k], dtype: .float8E4M3)
        let numScales = blockSize.map { ((n + $0.n - 1) / $0.n) * ((k + $0.k - 1) / $0.k) } ?? n
        let scales = try allocate(shape: [numScales], dtype: .float32)
        let words = n * k / 4
        try launch("fill_fp8_dummy", in: "dummy", grid: (min((words + 255) / 256, 32 * context.multiprocessorCount), 1, 1),
                   block: (256, 1, 1), [codes.device, scales.device, .int64(Int64(words)), .int64(Int64(numScales)),
                                        .int64(Int64(bitPattern: key))])
        return FP8Weight(outFeatures: n, inFeatures: k, tensors: [codes, scales], blockSize: blockSize)
    }

    /// Whether block scales of `blockSize` stay FP8 here: whole 64-k steps of linear_fp8_small a block, a power of two
    /// columns (DeepSeek's and Qwen3-FP8's 128 × 128 among them); other blocks are dequantized at load.
    public static func fp8BlocksApply(_ blockSize: (n: Int, k: Int)) -> Bool {
        keepsFP8Blocks && blockSize.n > 0 && blockSize.k >= 64 && blockSize.k & (blockSize.k - 1) == 0
    }

    /// Block-scaled weights stay FP8 (checked on the H200: docs/benchmarks.md, session 25); `SWIFT_VLLM_FP8_BLOCKS=0`
    /// dequantizes them to bf16 at load instead, as before session 24 (for comparison).
    static let keepsFP8Blocks = ProcessInfo.processInfo.environment["SWIFT_VLLM_FP8_BLOCKS"] != "0"

    public func linear(_ x: Tensor, weight: FP8Weight, bias: Tensor?, out: Tensor) throws {
        try linear(x, weight: weight, bias: bias, out: out, path: .automatic)
    }

    /// `linear` by the path given (check-gpu and the benchmarks force each).
    public func linear(_ x: Tensor, weight: FP8Weight, bias: Tensor?, out: Tensor, path: FP8LinearPath) throws {
        let (columns, depth) = (weight.outFeatures, weight.inFeatures)
        let (codes, scales) = (weight.tensors[0], weight.tensors[1])
        try require(x.dtype == .bfloat16 && out.dtype == .bfloat16 && x.count % depth == 0 && out.count == x.count / depth * columns
                    && x.address % 16 == 0, "linear (fp8)", "x \(x) · [\(columns), \(depth)] e4m3 into out \(out) (bf16, x 16-byte aligned)")
        if let bias { try require(bias.count == columns && bias.dtype == .bfloat16, "linear (fp8)", "bias \(bias) for \(columns) outputs") }
        let tokens = x.count / depth
        guard tokens > 0 else { return }
        if let blockSize = weight.blockSize {
            try blockScaledLinear(x, weight: weight, blockSize: blockSize, bias: bias, out: out, path: path)
            return
        }
        let chosen = path == .automatic ? fp8Path(tokens: tokens, columns: columns, depth: depth) : path
        try require(chosen != .dequantized, "linear (fp8)", "the dequantized path for a weight with a scale a row")
        if chosen == .small {
            try fp8Small(x, weight: weight, bias: bias, out: out)
            try profiler.mark("linear fp8 N \(columns) K \(depth)")
            return
        }
        let quantized = try scratch(.fp8Activations, shape: [tokens, depth], dtype: .float8E4M3)
        let tokenScales = try scratch(.fp8ActivationScales, shape: [tokens], dtype: .float32)
        if !takeQuantizedInput(x, grouped: false) {
            try launch("quantize_fp8_rows_bf16", in: "linear_fp8", grid: (tokens, 1, 1), block: (256, 1, 1),
                       [x.device, quantized.device, tokenScales.device, .int32(Int32(depth))])
        }
        if chosen == .wgmma {
            guard let tile = Self.fp8WgmmaTile(tokens: tokens, columns: columns, depth: depth), fp8WgmmaApplies(depth: depth) else {
                throw BackendError("linear (fp8): the wgmma GEMM for \(tokens) tokens of K \(depth) on compute capability "
                                   + "\(context.computeCapability)")
            }
            try fp8Wgmma(quantized, xScales: tokenScales, weight: weight, bias: bias, out: out, tile: tile)
        } else {
            try blasLt.matmulFP8(x: quantized, xScales: tokenScales, weight: codes, weightScales: scales, bias: bias, out: out,
                                 fastAccumulation: Self.fp8FastAccumulation && chosen != .blasLtExactAccumulation)
        }
        try profiler.mark("linear fp8 N \(columns) K \(depth)")
    }

    /// out = x · weightᵀ (+ bias) by linear_fp8_small (at most `fp8SmallMaxTokens` tokens; bf16 x), its `_block` entry
    /// points where the weight has block scales.
    func fp8Small(_ x: Tensor, weight: FP8Weight, bias: Tensor?, out: Tensor) throws {
        let (columns, depth) = (weight.outFeatures, weight.inFeatures)
        let tokens = x.count / depth
        try require(tokens <= Self.fp8SmallMaxTokens, "linear (fp8)", "the small kernel for \(tokens) tokens")
        // 16 rows a CTA wherever N still gives every SM a CTA (fp8bench on the H200, docs/gpu-runs/2026-12-01e
        // run3: 8 rows leave each CTA too few bytes — Llama-3-8B's gate_up at one token 44 µs against 36, down 22
        // against 19); a warp's iteration covers 64 · LOADS · 8 / R of K.
        let rowsPerBlock = (columns + 15) / 16 >= context.multiprocessorCount ? 16 : 8
        let kPerWarpIteration = 64 * 8 * 8 / rowsPerBlock
        let numWarps = min(8, (depth + kPerWarpIteration - 1) / kPerWarpIteration)
        let blocks: [KernelArgument] = weight.blockSize.map { [.int32(Int32($0.n)), .int32(Int32($0.k.trailingZeroBitCount))] } ?? []
        try kernels.launch("linear_fp8_small\(weight.blockSize == nil ? "" : "_block")_bf16_t\(tokens <= 8 ? 1 : 2)", in: "linear_fp8",
                           grid: ((columns + rowsPerBlock - 1) / rowsPerBlock, 1, 1), block: (32 * numWarps, 1, 1), stream: stream,
                           arguments: [x.device, weight.tensors[0].device, weight.tensors[1].device, bias?.device ?? .pointer(0),
                                       out.device, .int32(Int32(tokens)), .int32(Int32(columns)), .int32(Int32(depth)),
                                       .int32(Int32(rowsPerBlock))] + blocks)
    }

    /// A block-scaled weight (`weight_block_size`) by `path`: linear_fp8_small with the blocks' scales (≤ 16 tokens: bf16
    /// activations, W8A16); else, as vLLM's block FP8 linear, x quantized per token per bk columns
    /// (quantize_fp8_groups_bf16) and cuBLASLt's block-scaled FP8 GEMM (Hopper, 128 × 128, K % 512 == 0) or
    /// linear_fp8_wgmma_block (sm_90a, bk a multiple of 128); elsewhere the weight widened to bf16 in scratch for
    /// cuBLASLt's bf16 GEMM.
    func blockScaledLinear(_ x: Tensor, weight: FP8Weight, blockSize: (n: Int, k: Int), bias: Tensor?, out: Tensor,
                           path: FP8LinearPath) throws {
        let (columns, depth) = (weight.outFeatures, weight.inFeatures)
        let (codes, scales) = (weight.tensors[0], weight.tensors[1])
        let tokens = x.count / depth
        let chosen = path == .automatic ? fp8Path(tokens: tokens, columns: columns, depth: depth, blockSize: blockSize) : path
        switch chosen {
        case .small:
            try fp8Small(x, weight: weight, bias: bias, out: out)
        case .blasLt:
            try require(fp8BlockBlasLtApplies(depth: depth, blockSize: blockSize), "linear (fp8)",
                        "cuBLASLt's block-scaled GEMM for K \(depth), blocks \(blockSize.n)×\(blockSize.k) on compute capability \(context.computeCapability)")
            // cuBLASLt takes block scales for a multiple of 4 tokens only (benchmarks/kernels/fp8_blaslt_probe.cu on the H200,
            // cuBLASLt 13.1: 17 and 1143 tokens not supported, 16, 20, 1144 are). Past 1024 tokens the last 1–3 go through
            // linear_fp8_small (one more pass over the weight, less than the copy below would move); up to 1024 the
            // step is padded with zero tokens into a scratch output and copied out.
            let (x2, out2) = (x.reshaped([tokens, depth]), out.reshaped([tokens, columns]))
            let aligned = tokens / 4 * 4
            if aligned == tokens || tokens > 1024 {
                try blockScaledBlasLt(x2.rows(0 ..< aligned), weight: weight, bias: bias, out: out2.rows(0 ..< aligned), paddedTokens: aligned,
                                      quantized: aligned == tokens && takeQuantizedInput(x, grouped: true))
                if aligned < tokens {
                    try blockScaledLinear(x2.rows(aligned ..< tokens), weight: weight, blockSize: blockSize, bias: bias,
                                          out: out2.rows(aligned ..< tokens), path: .small)
                }
            } else {
                let staged = try scratch(.fp8PaddedOutput, shape: [aligned + 4, columns], dtype: .bfloat16)
                try blockScaledBlasLt(x2, weight: weight, bias: bias, out: staged, paddedTokens: aligned + 4)
                try copy(staged.rows(0 ..< tokens), to: out2)
            }
        case .wgmma:
            try require(fp8BlockWgmmaApplies(depth: depth, blockSize: blockSize), "linear (fp8)",
                        "the wgmma GEMM for K \(depth), blocks \(blockSize.n)×\(blockSize.k) on compute capability \(context.computeCapability)")
            // x's scales tokens-contiguous over the tiles' tokens (the kernel loads two tokens' at once), the rows
            // past the step's padding.
            let tile = Self.fp8BlockWgmmaTile(tokens: tokens, columns: columns, depth: depth)
            let padded = tile.tiles * tile.width
            let quantized = try scratch(.fp8Activations, shape: [padded, depth], dtype: .float8E4M3)
            let groupScales = try scratch(.fp8ActivationScales, shape: [depth / blockSize.k, padded], dtype: .float32)
            try launch("quantize_fp8_groups_bf16", in: "linear_fp8", grid: (padded, 1, 1), block: (256, 1, 1),
                       [x.device, quantized.device, groupScales.device, .int32(Int32(depth)), .int32(Int32(blockSize.k)),
                        .int32(Int32(tokens))])
            try fp8Wgmma(quantized.rows(0 ..< tokens), xScales: groupScales, weight: weight, bias: bias, out: out, tile: tile)
        case .dequantized:
            let dense = try scratch(.fp8Dequantized, shape: [columns, depth], dtype: .bfloat16)
            try launch("dequantize_fp8_block_bf16", in: "linear_fp8", grid: (min((columns * depth / 8 + 255) / 256, 32 * context.multiprocessorCount), 1, 1),
                       block: (256, 1, 1), [codes.device, scales.device, dense.device, .int32(Int32(columns)), .int32(Int32(depth)),
                                            .int32(Int32(blockSize.n)), .int32(Int32(blockSize.k))])
            try linear(x, weight: dense, bias: bias, out: out, freshWeight: true)
        case .automatic, .blasLtExactAccumulation:
            throw BackendError("linear (fp8): path \(chosen) for a block-scaled weight (small, wgmma, blasLt or dequantized)")
        }
        try profiler.mark("linear fp8 blocks N \(columns) K \(depth)")
    }

    /// out [paddedTokens, N] = x [T, K] (T ≤ paddedTokens, a multiple of 4; the rows past T zero) by cuBLASLt's
    /// block-scaled FP8 GEMM, x quantized per token per 128 columns (scales tokens-contiguous, as cuBLASLt reads them)
    /// — here, or already by the op that wrote x (`quantized`: `quantizedInputScratch`'s grouped scratch holds it).
    func blockScaledBlasLt(_ x: Tensor, weight: FP8Weight, bias: Tensor?, out: Tensor, paddedTokens: Int, quantized: Bool = false) throws {
        let depth = weight.inFeatures
        let codes = try scratch(.fp8Activations, shape: [paddedTokens, depth], dtype: .float8E4M3)
        let groupScales = try scratch(.fp8ActivationScales, shape: [depth / 128, paddedTokens], dtype: .float32)
        if !quantized {
            try launch("quantize_fp8_groups_bf16", in: "linear_fp8", grid: (paddedTokens, 1, 1), block: (256, 1, 1),
                       [x.device, codes.device, groupScales.device, .int32(Int32(depth)), .int32(128),
                        .int32(Int32(x.count / depth))])
        }
        try blasLt.matmulFP8(x: codes, xScales: groupScales, weight: weight.tensors[0], weightScales: weight.tensors[1], bias: bias,
                             out: out, fastAccumulation: false, blockScaled: true)
    }

    /// out [T, N] bf16 = x [T, K] e4m3 · weight [N, K]ᵀ e4m3, scaled by token and row (+ bias), by linear_fp8_wgmma in `tile`
    /// (K split where the grid would leave SMs idle, the partial sums then added by fp8_wgmma_reduce_bf16). On a
    /// block-scaled weight linear_fp8_wgmma_block, `xScales` [T, K / bk].
    func fp8Wgmma(_ x: Tensor, xScales: Tensor, weight: FP8Weight, bias: Tensor?, out: Tensor, tile: FP8WgmmaTile) throws {
        let (columns, depth) = (weight.outFeatures, weight.inFeatures)
        let tokens = x.count / depth
        let rows = activationMapRows(x, tokens: tokens, rowBytes: depth, tileTokens: tile.tiles * tile.width)
        let swizzle = Int32(CCUDA_TENSOR_MAP_SWIZZLE_128B), bytes = Int32(CCUDA_TENSOR_MAP_DATA_TYPE_UINT8)
        let xMap = try tensorMap(x, type: bytes, dims: [UInt64(depth), UInt64(rows)], strideBytes: UInt64(depth),
                                 box: [128, UInt32(tile.width)], swizzle: swizzle)
        let weightMap = try tensorMap(weight.tensors[0], type: bytes, dims: [UInt64(depth), UInt64(columns)],
                                      strideBytes: UInt64(depth), box: [128, UInt32(tile.rows)], swizzle: swizzle)
        let grid = (tile.tiles, (columns + tile.rows - 1) / tile.rows)
        let splits = Self.int4WgmmaSplits(ctas: grid.0 * grid.1, depth: depth, multiprocessors: context.multiprocessorCount,
                                          perSM: tile.perSM)
        let partials = splits > 1 ? try scratch(.fp8Partials, shape: [splits, tokens, columns], dtype: .float32) : nil
        let blocks: [KernelArgument] = weight.blockSize.map { [.int32(Int32($0.n)), .int32(Int32($0.k))] } ?? []
        try launch(weight.blockSize == nil ? tile.kernel : tile.blockKernel, in: "linear_fp8_wgmma", grid: (grid.0, grid.1, splits),
                   block: (tile.threads, 1, 1), sharedBytes: tile.sharedBytes,
                   [.tensorMap(xMap), .tensorMap(weightMap), xScales.device, weight.tensors[1].device, bias?.device ?? .pointer(0),
                    out.device, partials?.device ?? .pointer(0), .int32(Int32(tokens)), .int32(Int32(columns)), .int32(Int32(depth))]
                   + blocks)
        if let partials {  // block-scaled partial sums are scaled already
            let (tokenScales, rowScales) = weight.blockSize == nil ? (xScales.device, weight.tensors[1].device) : (.pointer(0), .pointer(0))
            try launch("fp8_wgmma_reduce_bf16", in: "linear_fp8_wgmma", grid: ((out.count + 255) / 256, 1, 1), block: (256, 1, 1),
                       [partials.device, .int32(Int32(splits)), tokenScales, rowScales, bias?.device ?? .pointer(0),
                        out.device, .int32(Int32(tokens)), .int32(Int32(columns))])
        }
    }

    /// Where an op writing the input of `feeding`'s linear (`rows` × `depth`) quantizes it as well: the scratch that
    /// the linear's own quantization would fill — where `feeding` is an FP8 weight whose linear takes an FP8 GEMM at this
    /// size; nil otherwise (linear_fp8_small reads bf16 activations). `grouped`: a scale per token per 128 columns,
    /// [K / 128, rows] tokens contiguous, for cuBLASLt's block-scaled GEMM on a whole multiple of 4 tokens (no padding
    /// rows); else a scale per token.
    func quantizedInputScratch(feeding: LinearWeight, rows: Int, depth: Int) throws -> (codes: Tensor, scales: Tensor, grouped: Bool)? {
        guard Self.isQuantizedInputEnabled, case .fp8(let weight) = feeding, hasFP8TensorCores,
              activationDType == .bfloat16, rows > 0,
              weight.inFeatures == depth, depth % 8 == 0,
              !Self.fp8TakesSmall(tokens: rows, columns: weight.outFeatures, depth: depth) else { return nil }
        if let blockSize = weight.blockSize {
            guard rows % 4 == 0, fp8Path(tokens: rows, columns: weight.outFeatures, depth: depth, blockSize: blockSize) == .blasLt
            else { return nil }
        }
        let grouped = weight.blockSize != nil
        return (try scratch(.fp8Activations, shape: [rows, depth], dtype: .float8E4M3),
                try scratch(.fp8ActivationScales, shape: grouped ? [depth / 128, rows] : [rows], dtype: .float32), grouped)
    }

    /// Notes that the kernel just launched wrote `out` and its quantization (`quantizedInputScratch`).
    func quantizedInputWritten(_ out: Tensor, grouped: Bool) {
        quantizedInput.withLock { $0 = (out.address, out.count, kernels.launchCount, grouped) }
    }

    /// Whether the scratch holds `x` quantized: the last kernel launched wrote it (`quantizedInputWritten`), so nothing
    /// since can have changed x or the scratch. Forgets it either way: one linear takes it.
    func takeQuantizedInput(_ x: Tensor, grouped: Bool) -> Bool {
        let written = quantizedInput.withLock { written in
            defer { written = nil }
            return written
        }
        guard let written else { return false }
        return written.address == x.address && written.count == x.count && written.launch == kernels.launchCount
            && written.grouped == grouped
    }
}
