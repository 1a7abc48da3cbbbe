import CCUDA
import FoundationEssentials
import VLLMCompute

/// 4-bit integer weights (W4A16: GPTQ, AWQ, compressed-tensors) by Kernels/linear_int4.cu and linear_int4_wgmma.cu: the weight stays
/// packed (a quarter of bf16's bytes) and is dequantized in registers — by linear_int4_small for the fewest tokens,
/// by a tiled GEMM for decode steps of a few dozen to 256 sequences (linear_int4_wgmma on Hopper's warpgroup MMA
/// from 64 where it applies, else linear_int4_gemm on mma.sync, as vLLM's Marlin) — and larger steps (prefills) dequantize
/// it into a scratch matrix that cuBLASLt multiplies. `int4Path` says which, from H200 timings.
extension CUDABackend: Int4LinearBackend {
    /// Most tokens linear_int4.cu's small kernel takes (4 groups of 8 mma columns).
    static let int4SmallMaxTokens = 32

    /// `SWIFT_VLLM_INT4_GEMM_MAX_TOKENS` caps the tokens the tiled GEMMs (linear_int4_gemm, linear_int4_wgmma) take
    /// (0: never), so the paths can be timed on one binary.
    static let int4GemmTokenCap = ProcessInfo.processInfo.environment["SWIFT_VLLM_INT4_GEMM_MAX_TOKENS"].flatMap { Int($0) }

    /// `SWIFT_VLLM_INT4_WGMMA_MAX_TOKENS` (at most 256) sets the most tokens linear_int4_wgmma takes on every linear,
    /// in place of `int4Path`'s measured 256, so a rule can be timed on one binary.
    static let int4WgmmaTokenLimit = ProcessInfo.processInfo.environment["SWIFT_VLLM_INT4_WGMMA_MAX_TOKENS"]
        .flatMap { Int($0) }.map { min(256, $0) }

    /// linear_int4_gemm's CTA: 4 warps of 32 weight rows × 8·width tokens (width 4–8, the entry point's suffix _n),
    /// INT4_GEMM_STAGES stages of a 128-k chunk (64 bytes a weight row, 256 a token), two CTAs an SM.
    static let int4GemmRows = 128, int4GemmThreads = 128, int4GemmPerSM = 2, int4GemmStages = 4

    /// The tokens of a step in as few 64-token tiles as hold them, each as narrow as its share (8-token steps):
    /// a CTA's time goes with its width (H200, docs/gpu-runs/2026-12-01c run3: 100 tokens as two tiles of 56
    /// take 7 % less than as two of 64, 80 as two of 40 21 % less).
    static func int4GemmTile(tokens: Int) -> (width: Int, tiles: Int) {
        let tiles = (tokens + 63) / 64
        return (min(8, max(4, (tokens + 8 * tiles - 1) / (8 * tiles))), tiles)
    }

    /// 98,304 bytes at width 8 (linear_int4.cu asserts the same).
    static func int4GemmSharedBytes(width: Int) -> Int { int4GemmStages * (int4GemmRows * 64 + 8 * width * 256) }
    /// Most splits of K (each at least 4 chunks of 128).
    static let int4GemmMaxSplits = 8

    /// linear_int4_wgmma's CTA: `warpgroups` of 64 weight rows each × `width` tokens (the entry point's suffix:
    /// _n64, _n96, _n128 one warpgroup, two CTAs an SM, 4 stages of a 128-k chunk at width 64 and 3 above;
    /// _w2_n192, _w2_n256 two warpgroups, one CTA an SM, 3 stages), each stage with its 8-byte barrier, and 1024
    /// bytes to align the stages (Int4WgmmaTile::SHARED_BYTES).
    struct Int4WgmmaTile: Equatable {
        var warpgroups: Int, width: Int, tiles: Int
        var rows: Int { 64 * warpgroups }
        var threads: Int { 128 * warpgroups }
        var perSM: Int { warpgroups == 1 ? 2 : 1 }
        var kernel: String { "linear_int4_wgmma_bf16\(warpgroups == 1 ? "" : "_w\(warpgroups)")_n\(width)" }
        var sharedBytes: Int {
            let stages = width == 64 ? 4 : 3
            return stages * (width * 256 + rows * 64 + 8) + 1024
        }
    }

    /// Whether the deep linears take the two-warpgroup tiles (`int4WgmmaTile`); `SWIFT_VLLM_INT4_WGMMA_DEEP_TILES=0` says no.
    static let int4WgmmaDeepTiles = ProcessInfo.processInfo.environment["SWIFT_VLLM_INT4_WGMMA_DEEP_TILES"] != "0"

    /// The tokens of a step in as few 128-token tiles as hold them, each the narrowest width that holds its share;
    /// on the widest linears (gate_up: N ≥ 16384) and the deepest (down: K ≥ 8192 stored columns) a step of 129–256
    /// tokens is one tile of two warpgroups × 192 or 256, each weight fragment dequantized once for the step. Gate_up:
    /// docs/gpu-runs/2026-12-01f run5, 14–17 % faster. Down, with K split to fill the SMs (`int4WgmmaSplits` at one
    /// CTA an SM: 4 ways for Llama-3-8B's 32 row tiles, 3 for Qwen2.5-14B's 40), against two one-warpgroup tiles
    /// (2026-12-02c run3, µs): Llama-3-8B at 256 / 192 tokens 63.9 / 48.1 against 67.3 / 57.9, Qwen2.5-14B 76.4 / 60.1
    /// against 106.4 / 86.9. On qkv and o (K 4096, 5120) the one-warpgroup tiles were as fast or faster (31.5 against
    /// 38.5 on Llama-3-8B qkv at 256). `SWIFT_VLLM_INT4_WGMMA_DEEP_TILES=0` keeps the deep linears in one-warpgroup
    /// tiles (the rule before, for timing both on one binary).
    static func int4WgmmaTile(tokens: Int, columns: Int, depth: Int) -> Int4WgmmaTile {
        if columns >= 16384 || (depth >= 8192 && int4WgmmaDeepTiles), (129...256).contains(tokens) {
            return Int4WgmmaTile(warpgroups: 2, width: tokens <= 192 ? 192 : 256, tiles: 1)
        }
        let tiles = (tokens + 127) / 128, share = (tokens + tiles - 1) / tiles
        return Int4WgmmaTile(warpgroups: 1, width: share <= 64 ? 64 : share <= 96 ? 96 : 128, tiles: tiles)
    }

    /// linear_int4_wgmma's tensor maps: x [tokens, K] bf16 in boxes of 64 k × the tile's width with the 128-byte
    /// swizzle (the wgmma descriptor's), and the packed weight [N, K/8] u32 in boxes of 16 words × the tile's rows with the
    /// 64-byte swizzle (the layout the kernel's dequantization reads). Weight rows past N and x rows past the map's end
    /// arrive as zeros.
    func int4WgmmaMaps(x: Tensor, tokens: Int, packed: Tensor, columns: Int, depth: Int, tile: Int4WgmmaTile) throws -> (TensorMapBytes, TensorMapBytes) {
        let rows = activationMapRows(x, tokens: tokens, rowBytes: depth * 2, tileTokens: tile.tiles * tile.width)
        let xMap = try tensorMap(x, type: Int32(CCUDA_TENSOR_MAP_DATA_TYPE_BFLOAT16), dims: [UInt64(depth), UInt64(rows)],
                                 strideBytes: UInt64(depth * 2), box: [64, UInt32(tile.width)], swizzle: Int32(CCUDA_TENSOR_MAP_SWIZZLE_128B))
        let weightMap = try tensorMap(packed, type: Int32(CCUDA_TENSOR_MAP_DATA_TYPE_UINT32), dims: [UInt64(depth / 8), UInt64(columns)],
                                      strideBytes: UInt64(depth / 2), box: [16, UInt32(tile.rows)],
                                      swizzle: Int32(CCUDA_TENSOR_MAP_SWIZZLE_64B))
        return (xMap, weightMap)
    }

    /// The rows a wgmma GEMM's tensor map over activations x (`tokens` rows of `rowBytes`) spans: up to the tiles' end
    /// (`tileTokens`) where x's storage has those rows, since a box that runs past the map's end is much slower to fill
    /// (docs/gpu-runs/2026-12-01f/run8.txt: Qwen2.5-14B gate_up at 100 tokens in one 128-token tile 103 µs, at 120
    /// 78 µs). The rows past `tokens` only feed outputs never stored.
    func activationMapRows(_ x: Tensor, tokens: Int, rowBytes: Int, tileTokens: Int) -> Int {
        let available = (x.storage.byteCount - Int(x.address - x.storage.address)) / rowBytes
        return max(tokens, min(tileTokens, available))
    }

    /// A 2-D tensor map (cuTensorMapEncodeTiled) over `tensor`: `dims` innermost first, rows `strideBytes` apart, copied in
    /// boxes of `box` with `swizzle`; rows past `dims` arrive as zeros.
    func tensorMap(_ tensor: Tensor, type: Int32, dims: [UInt64], strideBytes: UInt64, box: [UInt32], swizzle: Int32) throws -> TensorMapBytes {
        guard let encode = context.driver.raw.cuTensorMapEncodeTiled else {
            throw CUDAError("the driver has no cuTensorMapEncodeTiled (the wgmma GEMMs need CUDA 12)")
        }
        var map = TensorMapBytes()
        let strides = [strideBytes], ones: [UInt32] = [1, 1]
        let result = map.words.withUnsafeMutableBytes { bytes in
            encode(bytes.baseAddress, type, 2, UnsafeMutableRawPointer(bitPattern: tensor.address), dims, strides, box, ones,
                   Int32(CCUDA_TENSOR_MAP_INTERLEAVE_NONE), swizzle, Int32(CCUDA_TENSOR_MAP_L2_PROMOTION_L2_256B),
                   Int32(CCUDA_TENSOR_MAP_FLOAT_OOB_FILL_NONE))
        }
        try context.driver.check(result, "cuTensorMapEncodeTiled(\(tensor), box \(box))")
        return map
    }

    /// How a 4-bit linear runs: `automatic` picks by shape (`int4Path`); the others force a path (check-gpu and
    /// bench-linear run each).
    public enum Int4LinearPath: Sendable, Equatable {
        case automatic, small, gemm, wgmma, dequantized
    }

    /// Whether this device runs the wgmma GEMMs at all (linear_int4_wgmma, linear_fp8_wgmma: compute capability 9.0, where
    /// they are compiled for sm_90a, and a driver that encodes tensor maps).
    public var hasWgmma: Bool { context.computeCapability == (9, 0) && context.driver.raw.cuTensorMapEncodeTiled != nil }

    /// Whether linear_int4_wgmma runs here: on compute capability 9.0 (its kernels are compiled for sm_90a there),
    /// for bf16 out, groups of whole 128-k chunks, K % 128 == 0 and x 16-byte aligned.
    func int4WgmmaApplies(groupSize: Int, depth: Int, out: Tensor, aligned: Bool) -> Bool {
        hasWgmma && out.dtype == .bfloat16 && groupSize % 128 == 0 && depth % 128 == 0 && aligned
    }

    /// The path for `tokens` × [N, K] (bench-linear on the H200, docs/gpu-runs/2026-11-30f): the small kernel streams
    /// the weight once for all tokens but its MMAs of 8 tokens cost more per token past ~16; the GEMM dequantizes a
    /// weight fragment once for 64 tokens and wins from 17 tokens on every linear (docs/gpu-runs/2026-12-01h run8, µs
    /// at 24 / 32 tokens, small against GEMM: Llama-3-8B qkv 25.8 / 28.8 against 22.4 / 22.9, o 18.9 / 21.6 against
    /// 16.4 / 16.6; session 8 had measured the narrow linears' turn at 33), up to 64 tokens on all and 128 on the large
    /// ones (N·K ≥ 32 M: gate_up, down, lm_head); past that, dequantize + cuBLASLt.
    /// Where linear_int4_wgmma applies it takes 64–256 tokens (bench-linear, docs/gpu-runs/2026-12-01d run4: on
    /// Llama-3-8B's and Qwen2.5-14B's linears it ties or beats the mma.sync GEMM in sum at 64 tokens and loses at 48;
    /// at 96–128 it is 0–29 % faster than the better of the others, at 192 4–19 % faster than dequantize + cuBLASLt;
    /// at 193–256 the engine gains with it on every linear, not only gate_up: docs/gpu-runs/2026-12-01g run9, W2's
    /// decode steps of 129–256 sequences 3.7 % shorter on Qwen2.5-14B GPTQ-int4, 1.6 % on Llama-3-8B). An 8-bit
    /// weight (`depth` its planes' 2K) takes the same paths: its dequantized copy would cost cuBLASLt 5 bytes a weight
    /// a step (2026-12-01g run6: those decode steps 2.24× bf16's through it, 2.03× through linear_int4_wgmma in run7).
    /// `aligned`: x is 16-byte aligned (the kernels load it 16 bytes at a time; dequantize + cuBLASLt takes any x).
    static func int4Path(tokens: Int, columns: Int, depth: Int, gemmApplies: Bool, wgmmaApplies: Bool, aligned: Bool) -> Int4LinearPath {
        let cap = int4GemmTokenCap ?? .max
        let wgmmaLimit = int4WgmmaTokenLimit ?? 256
        if wgmmaApplies, tokens >= 64, tokens <= wgmmaLimit, tokens <= cap { return .wgmma }
        let gemmRange = 17...(columns * depth >= 32 << 20 ? 128 : 64)
        if gemmApplies, gemmRange.contains(tokens), tokens <= cap { return .gemm }
        return tokens <= int4SmallMaxTokens && aligned ? .small : .dequantized
    }

    /// Splits of K for linear_int4_wgmma's grid of `ctas` CTAs, `perSM` of which fit an SM: among those that keep every
    /// CTA resident at once, the fewest that minimize the chunks the busiest SM runs, ⌈ctas · s / SMs⌉ · ⌈chunks / s⌉; each split at
    /// least 4 chunks. One CTA an SM keeps an SM about as busy as two, so splitting pays only where it evens the SMs'
    /// loads, and each split costs a reduce and a pipeline fill (docs/gpu-runs/2026-12-01f/run8.txt, µs at 100 tokens:
    /// Qwen2.5-14B o, 80 CTAs, s 1–4: 26.1 / 27.0 / 22.7 / 30.3; qkv, 112 CTAs: 29.7 / 35.3 / 40.5 / 38.2; the rule
    /// before, ⌈264 / CTAs⌉, took 4 and 3).
    static func int4WgmmaSplits(ctas: Int, depth: Int, multiprocessors: Int, perSM: Int = 2) -> Int {
        let chunks = depth / 128
        var best = (splits: 1, load: (ctas + multiprocessors - 1) / multiprocessors * chunks)
        for splits in stride(from: 2, through: min(int4GemmMaxSplits, chunks / 4), by: 1) where ctas * splits <= perSM * multiprocessors {
            let load = (ctas * splits + multiprocessors - 1) / multiprocessors * ((chunks + splits - 1) / splits)
            if load < best.load { best = (splits, load) }
        }
        return best.splits
    }

    /// Splits of K for linear_int4_gemm's grid of `ctas` CTAs: enough to give every SM its CTAs, each split at least 4
    /// chunks.
    func int4GemmSplits(ctas: Int, depth: Int) -> Int {
        let target = Self.int4GemmPerSM * context.multiprocessorCount
        guard ctas < target else { return 1 }
        return max(1, min(Self.int4GemmMaxSplits, depth / 128 / 4, (target + ctas - 1) / ctas))
    }

    /// Nibble p of a packed word holds k-offset interleave[p] (Kernels/int4.cuh's layout).
    static let int4Interleave = [0, 2, 4, 6, 1, 3, 5, 7]

    /// `Int4Weight.tensors` of this backend: packed [N, K/8] int32, scaleZeros [N, G] int32 (each (row, group)'s scale as
    /// bf16 in the low half and −(128 + zero) as bf16 in the high half: one load for both, Kernels/int4.cuh), and for
    /// act-order the permutation [K] int32 (stored column → input column). An 8-bit weight is
    /// its two 4-bit planes (`IntQuantizedWeights.nibblePlanes`) over 2K stored columns, stored column j + K the low
    /// nibbles of column j; act-order sorts both halves alike and keeps the first half's permutation [K].
    public func makeInt4Weight(_ weights: IntQuantizedWeights) throws -> Int4Weight? {
        if weights.bits == 8 {
            guard let planes = weights.nibblePlanes(), let (tensors, order) = try packInt4(planes) else { return nil }
            let permutation = try order.map { [try makeInt32($0.prefix(weights.k).map { Int32($0) })] } ?? []
            return Int4Weight(outFeatures: weights.n, inFeatures: weights.k, groupSize: planes.groupSize, bits: 8,
                              tensors: tensors + permutation)
        }
        guard weights.bits == 4, let (tensors, order) = try packInt4(weights) else { return nil }
        return Int4Weight(outFeatures: weights.n, inFeatures: weights.k, groupSize: weights.groupSize,
                          tensors: tensors + (try order.map { [try makeInt32($0.map { Int32($0) })] } ?? []))
    }

    /// A 4-bit weight's packed codes and scale-zero pairs on the GPU, and (act-order) its stored column order.
    private func packInt4(_ weights: IntQuantizedWeights) throws -> ([Tensor], [Int]?)? {
        let (n, k, groupSize) = (weights.n, weights.k, weights.groupSize)
        guard weights.bits == 4, activationDType == .bfloat16, context.computeCapability.major >= 8,
              groupSize % 32 == 0, k % groupSize == 0, weights.numGroups == k / groupSize, n > 0 else { return nil }
        // Act-order: columns sorted by group (stable), which must leave groupSize columns to each group.
        var order: [Int]?
        if let groupIndex = weights.groupIndex {
            let sorted = (0..<k).sorted { (groupIndex[$0], $0) < (groupIndex[$1], $1) }
            guard sorted.enumerated().allSatisfy({ groupIndex[$0.element] == $0.offset / groupSize }) else { return nil }
            order = sorted
        }
        let words = k / 8
        var packed = [UInt32](repeating: 0, count: n * words)
        weights.codes.withUnsafeBufferPointer { codes in
            packed.withUnsafeMutableBufferPointer { packed in
                let interleave = Self.int4Interleave
                ParallelFor.chunks(n, grain: 16) { rows in
                    for row in rows {
                        let source = codes.baseAddress! + row * k
                        for word in 0..<words {
                            var value: UInt32 = 0
                            for p in 0..<8 {
                                let stored = 8 * word + interleave[p]
                                value |= UInt32(source[order?[stored] ?? stored] & 0xF) << (4 * p)
                            }
                            packed[row * words + word] = value
                        }
                    }
                }
            }
        }
        let numGroups = k / groupSize
        let scaleZeros = zip(weights.scales, weights.zeros).map { scale, zero in
            UInt32(HalfPrecision.bfloat16(from: scale)) | UInt32(HalfPrecision.bfloat16(from: -(128 + Float(zero)))) << 16
        }
        let tensors = [
            try packed.withUnsafeBytes { try upload($0, sourceDType: .int32, shape: [n, words], dtype: .int32) },
            try scaleZeros.withUnsafeBytes { try upload($0, sourceDType: .int32, shape: [n, numGroups], dtype: .int32) },
        ]
        return (tensors, order)
    }

    public func makeDummyInt4Weight(n: Int, k: Int, groupSize: Int, bits: Int, key: UInt64) throws -> Int4Weight? {
        guard bits == 4 || bits == 8, activationDType == .bfloat16, context.computeCapability.major >= 8, groupSize % 32 == 0,
              k % groupSize == 0, n > 0 else { return nil }
        let depth = k * bits / 4  // an 8-bit weight's two planes
        let numGroups = depth / groupSize
        let packed = try allocate(shape: [n, depth / 8], dtype: .int32)
        let scaleZeros = try allocate(shape: [n, numGroups], dtype: .int32)
        let blocks = min((packed.count + 255) / 256, 32 * context.multiprocessorCount)
        try launch("fill_int4_dummy", in: "dummy", grid: (blocks, 1, 1), block: (256, 1, 1),
                   [packed.device, scaleZeros.device, .int64(Int64(packed.count)), .int64(Int64(scaleZeros.count)),
                    .int64(Int64(bitPattern: key))])
        return Int4Weight(outFeatures: n, inFeatures: k, groupSize: groupSize, bits: bits, tensors: [packed, scaleZeros])
    }

    public func linear(_ x: Tensor, weight: Int4Weight, bias: Tensor?, out: Tensor) throws {
        try linear(x, weight: weight, bias: bias, out: out, path: .automatic)
    }

    /// `linear` by the path given (check-gpu and the benchmarks force each).
    public func linear(_ x: Tensor, weight: Int4Weight, bias: Tensor?, out: Tensor, path: Int4LinearPath) throws {
        // `depth`: x's columns; `stored`: the packed weight's (an 8-bit weight's two planes: 2K; the small kernel reads
        // x's column k mod K, the tiled GEMMs and cuBLASLt x gathered as [x | x]).
        let (columns, depth) = (weight.outFeatures, weight.inFeatures)
        let stored = weight.bits == 8 ? 2 * depth : depth
        let (packed, scaleZeros) = (weight.tensors[0], weight.tensors[1])
        let permutation = weight.tensors.count > 2 ? weight.tensors[2] : nil
        try require(x.dtype == .bfloat16 && (out.dtype == .bfloat16 || out.dtype == .float32) && x.count % depth == 0
                    && out.count == x.count / depth * columns, "linear (int4)",
                    "x \(x) · [\(columns), \(depth)] int4 into out \(out)")
        if let bias { try require(bias.count == columns && bias.dtype == .bfloat16, "linear (int4)", "bias \(bias) for \(columns) outputs") }
        let tokens = x.count / depth
        guard tokens > 0 else { return }
        let elementwiseBlocks = { (count: Int) in min((count + 255) / 256, 32 * self.context.multiprocessorCount) }
        // x's columns in the stored order (act-order), `width` of them: K, or an 8-bit weight's 2K ([x | x]).
        func gathered(_ width: Int) throws -> Tensor {
            guard permutation != nil || width != depth else { return x }
            let input = try scratch(.int4Gathered, shape: [tokens, width], dtype: .bfloat16)
            try launch("gather_columns_bf16", in: "linear_int4", grid: (elementwiseBlocks(tokens * width), 1, 1), block: (256, 1, 1),
                       [x.device, permutation?.device ?? .pointer(0), input.device, .int32(Int32(tokens)), .int32(Int32(width)),
                        .int32(Int32(depth))])
            return input
        }
        let outName = out.dtype == .float32 ? "_f32" : ""
        // The tiled GEMMs' split-K sums (f32, [splits, tokens, columns]) added up into out, with the bias.
        func reduceSplits(_ partials: Tensor, splits: Int) throws {
            try launch("int4_gemm_reduce_\(out.dtype == .float32 ? "f32" : "bf16")", in: "linear_int4",
                       grid: (elementwiseBlocks(out.count), 1, 1), block: (256, 1, 1),
                       [partials.device, bias?.device ?? .pointer(0), out.device, .int32(Int32(tokens)),
                        .int32(Int32(columns)), .int32(Int32(splits))])
        }
        let arguments = { (input: Tensor) -> [KernelArgument] in
            [input.device, packed.device, scaleZeros.device, bias?.device ?? .pointer(0), out.device,
             .int32(Int32(tokens)), .int32(Int32(columns)), .int32(Int32(stored)), .int32(Int32(weight.groupSize))]
        }
        let aligned = x.address % 16 == 0
        let gemmApplies = aligned && stored % 128 == 0
            && Self.int4GemmSharedBytes(width: 8) <= Self.maxSharedBytesPerBlock(computeCapability: context.computeCapability)
        let wgmmaApplies = int4WgmmaApplies(groupSize: weight.groupSize, depth: stored, out: out, aligned: aligned)
        let chosen = path == .automatic
            ? Self.int4Path(tokens: tokens, columns: columns, depth: stored, gemmApplies: gemmApplies, wgmmaApplies: wgmmaApplies,
                            aligned: aligned) : path
        switch chosen {
        case .small:
            try require(aligned && tokens <= Self.int4SmallMaxTokens, "linear (int4)", "the small kernel for \(tokens) tokens")
            try int4Small(try gathered(depth), weight: weight, bias: bias, out: out, epilogue: nil)
            return
        case .wgmma:
            try require(wgmmaApplies, "linear (int4)", "the wgmma GEMM for K \(stored), group \(weight.groupSize), out \(out.dtype) "
                        + "on compute capability \(context.computeCapability)")
            let tile = Self.int4WgmmaTile(tokens: tokens, columns: columns, depth: stored)
            let grid = (tile.tiles, (columns + tile.rows - 1) / tile.rows)
            let input = try gathered(stored)
            let (xMap, weightMap) = try int4WgmmaMaps(x: input, tokens: tokens, packed: packed, columns: columns, depth: stored, tile: tile)
            let splits = Self.int4WgmmaSplits(ctas: grid.0 * grid.1, depth: stored, multiprocessors: context.multiprocessorCount,
                                              perSM: tile.perSM)
            let partials = splits > 1 ? try scratch(.int4Partials, shape: [splits, tokens, columns], dtype: .float32) : nil
            try launch(tile.kernel, in: "linear_int4_wgmma", grid: (grid.0, grid.1, splits), block: (tile.threads, 1, 1),
                       sharedBytes: tile.sharedBytes,
                       [.tensorMap(xMap), .tensorMap(weightMap), scaleZeros.device, bias?.device ?? .pointer(0), out.device,
                        partials?.device ?? .pointer(0), .int32(Int32(tokens)), .int32(Int32(columns)), .int32(Int32(stored)),
                        .int32(Int32(weight.groupSize))])
            if let partials { try reduceSplits(partials, splits: splits) }
            return
        case .gemm:
            try require(gemmApplies, "linear (int4)", "the GEMM for K \(stored) (K % 128 == 0, x 16-byte aligned)")
            // f32 logits (a quantized lm_head) take the one width linear_int4.cu compiles for them.
            let (fitted, tiles) = Self.int4GemmTile(tokens: tokens)
            let width = out.dtype == .float32 ? 8 : fitted
            let grid = (tiles, (columns + Self.int4GemmRows - 1) / Self.int4GemmRows)
            let input = try gathered(stored)
            let splits = int4GemmSplits(ctas: grid.0 * grid.1, depth: stored)
            let partials = splits > 1 ? try scratch(.int4Partials, shape: [splits, tokens, columns], dtype: .float32) : nil
            let all = arguments(input)
            try launch("linear_int4_gemm_bf16\(outName)_n\(width)", in: "linear_int4", grid: (grid.0, grid.1, splits),
                       block: (Self.int4GemmThreads, 1, 1), sharedBytes: Self.int4GemmSharedBytes(width: width),
                       Array(all.prefix(5)) + [partials?.device ?? .pointer(0)] + Array(all.suffix(4)))
            if let partials { try reduceSplits(partials, splits: splits) }
            return
        case .dequantized, .automatic:  // (`chosen` is never .automatic)
            break
        }
        let dense = try scratch(.int4Dequantized, shape: [columns, depth], dtype: .bfloat16)
        try launch(weight.bits == 8 ? "dequantize_int8_planes_bf16" : "dequantize_int4_bf16", in: "linear_int4",
                   grid: (elementwiseBlocks(packed.count / (weight.bits / 4)), 1, 1), block: (256, 1, 1),
                   [packed.device, scaleZeros.device, permutation?.device ?? .pointer(0), dense.device,
                    .int32(Int32(columns)), .int32(Int32(depth)), .int32(Int32(weight.groupSize))])
        try linear(x, weight: dense, bias: bias, out: out, freshWeight: true)
    }

    /// Whether linear_int4_decode takes `tokens` on this weight: groups of whole 128-k steps, at most 8 tokens, and a
    /// packed weight its 32-bit byte offsets address (past 4 GB linear_int4_small's two-group kernel takes them).
    func int4DecodeApplies(weight: Int4Weight, tokens: Int) -> Bool {
        let stored = weight.bits == 8 ? 2 * weight.inFeatures : weight.inFeatures
        return weight.groupSize % 128 == 0 && tokens <= 8 && weight.outFeatures * stored / 2 < 1 << 32
    }

    /// The weight rows of a CTA of `int4Small`'s kernel: 32 (linear_int4_decode), else 16 (linear_int4_small).
    func int4SmallRows(weight: Int4Weight, tokens: Int) -> Int { int4DecodeApplies(weight: weight, tokens: tokens) ? 32 : 16 }

    /// linear_int4_small on x (its columns in the weight's stored order, 16-byte aligned, at most 32 tokens) with
    /// `epilogue` folded in (bf16 out only; the caller has checked that the kernel takes it) — linear_int4_decode where
    /// `int4DecodeApplies`.
    func int4Small(_ x: Tensor, weight: Int4Weight, bias: Tensor?, out: Tensor, epilogue: LinearEpilogue?) throws {
        let (columns, depth) = (weight.outFeatures, weight.inFeatures)
        let stored = weight.bits == 8 ? 2 * depth : depth
        let tokens = x.count / depth
        let groups = tokens <= 8 ? 1 : tokens <= 16 ? 2 : 4
        // Groups of 128 (or multiples, or one per row): scales applied once per 128-k step of a warp.
        let grouped = weight.groupSize % 128 == 0
        let rows = int4SmallRows(weight: weight, tokens: tokens)
        var arguments: [KernelArgument] = [
            x.device, weight.tensors[0].device, weight.tensors[1].device, bias?.device ?? .pointer(0),
            out.device, .int32(Int32(tokens)), .int32(Int32(columns)), .int32(Int32(stored)), .int32(Int32(weight.groupSize)),
            .int32(Int32(depth)),
        ]
        if out.dtype == .bfloat16 {
            guard let modeArguments = epilogue.modeArguments(columns: columns, tokens: tokens, rows: rows) else {
                throw CUDAError("linear (int4): \(epilogue?.name ?? "store") for \(columns) outputs in CTAs of \(rows) rows")
            }
            arguments += modeArguments
        }
        let outName = out.dtype == .float32 ? "_f32" : ""
        // ⌈N / rows⌉ CTAs with every mode (gated: rows / 2 gate rows and their up rows; split: rows / 2 rotary pairs).
        let ctas = (columns + rows - 1) / rows
        if int4DecodeApplies(weight: weight, tokens: tokens) {
            try launch("linear_int4_decode_bf16\(outName)", in: "linear_int4_decode", grid: (ctas, 1, 1),
                       block: (32 * Self.int4DecodeWarps(ctas: ctas, multiprocessors: context.multiprocessorCount), 1, 1),
                       arguments)
            return
        }
        // A warp's iteration covers 512 of K (linear_int4.cu).
        let numWarps = min(8, (stored + 511) / 512)
        try launch("linear_int4_small\(grouped ? "_g128" : "")_bf16\(outName)_t\(grouped ? max(groups, 2) : groups)", in: "linear_int4",
                   grid: (ctas, 1, 1), block: (32 * numWarps, 1, 1), arguments)
    }

    /// linear_int4_decode's warps a CTA: the most of 16, 8, 4 for which the grid fits the GPU's warp slots in one wave
    /// (at its ≤ 128 registers a thread an SM holds 16 of its warps), else 4 — more warps split K finer, which shortens
    /// each warp's chain of dependent steps; more CTAs an SM hide each other's latency. H200, kernel alone
    /// (docs/gpu-runs/2026-12-02b run3): Llama-3-8B down (128 CTAs) 18.4 → 12.9 µs at 16 warps, gate_up (896) 27.0 →
    /// 22.4 at 4, qkv (192) 9.3 at 8.
    static func int4DecodeWarps(ctas: Int, multiprocessors: Int) -> Int {
        for warps in [16, 8] where ctas <= multiprocessors * (16 / warps) { return warps }
        return 4
    }
}
