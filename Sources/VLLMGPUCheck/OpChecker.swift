#if canImport(Glibc)
import Glibc
#endif
import VLLMCompute
import VLLMCPU
import VLLMCUDA

/// Runs each Backend op on the GPU and the CPU backend with the same random inputs (rounded to bf16 first,
/// so both start from identical values) and records the relative error of the GPU's output. The tolerance
/// follows the GPU's activation dtype: 1e-2 for bf16 (its rounding), 1e-5 for f32 (accumulation order alone).
public struct OpChecker {
    let gpu: CUDABackend
    let cpu: CPUBackend
    var random: CheckRandom
    public internal(set) var results: [OpCheckResult] = []
    /// Told each op as it is recorded (check-gpu writes it to stderr, so a run that dies shows where).
    public var progress: ((String) -> Void)?

    public init(gpu: CUDABackend, cpu: CPUBackend, seed: UInt64) {
        self.gpu = gpu
        self.cpu = cpu
        random = CheckRandom(seed: seed)
    }

    /// bf16-exact normal values × scale.
    mutating func values(_ count: Int, scale: Float = 1) -> [Float] {
        (0..<count).map { _ in HalfPrecision.float(fromBFloat16: HalfPrecision.bfloat16(from: random.normal() * scale)) }
    }

    /// bf16-exact uniform values in [-scale, scale].
    mutating func uniformValues(_ count: Int, scale: Float) -> [Float] {
        (0..<count).map { _ in HalfPrecision.float(fromBFloat16: HalfPrecision.bfloat16(from: (random.uniform() * 2 - 1) * scale)) }
    }

    /// The same values as an activation (or weight) tensor on each backend: (cpu, gpu).
    func pair(_ values: [Float], _ shape: [Int], weight: Bool = false) throws -> (Tensor, Tensor) {
        func make(_ backend: any Backend) throws -> Tensor {
            let dtype = weight ? backend.weightDType(for: .bfloat16) : backend.activationDType
            return try backend.makeTensor(values, shape: shape, dtype: dtype)
        }
        return (try make(cpu), try make(gpu))
    }

    func int32Pair(_ values: [Int32], shape: [Int]? = nil) throws -> (Tensor, Tensor) {
        (try cpu.makeInt32(values, shape: shape), try gpu.makeInt32(values, shape: shape))
    }

    func outputs(_ shape: [Int]) throws -> (Tensor, Tensor) {
        (try cpu.allocate(shape: shape, dtype: cpu.activationDType), try gpu.allocate(shape: shape, dtype: gpu.activationDType))
    }

    /// What the GPU's rounding alone allows against the CPU's f32.
    var defaultTolerance: Float { gpu.activationDType == .float32 ? 1e-5 : 1e-2 }

    mutating func record(_ op: String, _ shape: String, cpu cpuTensor: Tensor, gpu gpuTensor: Tensor,
                         tolerance: Float? = nil) throws {
        progress?("\(op) \(shape)")
        let error = relativeError(try gpu.downloadFloats(gpuTensor), try cpu.downloadFloats(cpuTensor))
        results.append(OpCheckResult(op: op, shape: shape, error: error, tolerance: tolerance ?? defaultTolerance))
    }

    /// `record` against a reference the GPU computed too (a fused kernel against the GPU's own ops one by one).
    mutating func record(_ op: String, _ shape: String, gpuReference: Tensor, gpu gpuTensor: Tensor, tolerance: Float) throws {
        progress?("\(op) \(shape)")
        let error = relativeError(try gpu.downloadFloats(gpuTensor), try gpu.downloadFloats(gpuReference))
        results.append(OpCheckResult(op: op, shape: shape, error: error, tolerance: tolerance))
    }

    public mutating func runAll() throws {
        for (tokens, hidden, vocab) in [(37, 896, 1000), (1, 4096, 32000), (5, 72, 300)] { try embedding(tokens, hidden, vocab) }
        for (rows, dim) in [(37, 896), (3, 4096), (11, 100), (64, 8)] { try norms(rows, dim) }
        for (tokens, depth, columns, bias, f32) in [(37, 896, 1152, true, false), (1, 4096, 14336, false, false),
                                                   (7, 4096, 4096, false, false), (5, 896, 32000, false, true),
                                                   (33, 200, 77, true, true)] {
            try linear(tokens, depth, columns, bias: bias, f32Out: f32)
        }
        // Decode steps' linears, Llama-3-8B's shapes at 1, 3 and 8 tokens: linear.cu's kernel with bf16
        // activations (cuBLASLt under SWIFT_VLLM_SMALL_LINEAR=0, and with f32 activations).
        if gpu.activationDType == .bfloat16 {
            for (depth, columns, bias, f32) in [(4096, 4096, false, false), (4096, 1024, true, false), (4096, 28672, false, false),
                                                (14336, 4096, false, false), (4096, 32000, false, true)] {
                try decodeLinears(tokens: [1, 3, 8], depth, columns, bias: bias, f32Out: f32)
            }
            try fusedLinears()
        }
        // 4-bit weights (GPTQ / AWQ / compressed-tensors): linear_int4.cu's small kernel, its GEMM and dequantize +
        // cuBLASLt, each where CUDABackend.int4Path sends a shape, and each forced on a few shapes.
        if gpu.activationDType == .bfloat16 {
            try int4Linears(tokens: [1, 5, 8, 13, 32, 50, 77, 300, 1500], depth: 4096, columns: 1024, groupSize: 128, actOrder: false,
                            zeroPoints: false, bias: false, f32Out: false)
            let forced: [CUDABackend.Int4LinearPath] = [.gemm, .dequantized]
            // linear_int4_wgmma (sm_90a) where the device has it: groups of 128 or more, bf16 out.
            let wgmma: [CUDABackend.Int4LinearPath] = gpu.hasWgmma ? [.wgmma] : []
            try int4Linears(tokens: [45, 161], depth: 1664, columns: 1000, groupSize: 128, actOrder: false, zeroPoints: true,
                            bias: true, f32Out: false, paths: forced + wgmma)
            try int4Linears(tokens: [100, 250], depth: 2048, columns: 1000, groupSize: 128, actOrder: true, zeroPoints: true,
                            bias: false, f32Out: false, paths: [.gemm] + wgmma)  // K split 4 ways; 250 as two tiles of 125
            // gate_up-wide (N ≥ 16384): 129–256 tokens as one tile of two warpgroups × 192 or 256; N ragged at 128 rows.
            try int4Linears(tokens: [150, 256], depth: 1024, columns: 16400, groupSize: 128, actOrder: false, zeroPoints: true,
                            bias: true, f32Out: false)
            // down-deep (K ≥ 8192): the same two-warpgroup tiles, K split 8 ways over the 8 row tiles, act-order, N ragged.
            try int4Linears(tokens: [150, 200], depth: 8192, columns: 1000, groupSize: 128, actOrder: true, zeroPoints: true,
                            bias: true, f32Out: false)
            try int4Linears(tokens: [20], depth: 4096, columns: 3000, groupSize: 64, actOrder: false, zeroPoints: true,
                            bias: true, f32Out: false, paths: [.small] + forced)
            try int4Linears(tokens: [70], depth: 512, columns: 200, groupSize: 32, actOrder: true, zeroPoints: true,
                            bias: false, f32Out: true, paths: forced)
            try int4Linears(tokens: [33], depth: 512, columns: 300, groupSize: 128, actOrder: false, zeroPoints: false,
                            bias: true, f32Out: false, paths: forced + wgmma)  // K unsplit (4 chunks): the bias in the GEMM itself
            try int4Linears(tokens: [3, 40], depth: 4096, columns: 512, groupSize: 128, actOrder: true, zeroPoints: true,
                            bias: true, f32Out: false)
            try int4Linears(tokens: [2, 20, 100], depth: 1024, columns: 1000, groupSize: 32, actOrder: false, zeroPoints: true,
                            bias: false, f32Out: true)
            try int4Linears(tokens: [1, 8, 100, 256], depth: 14336, columns: 4096, groupSize: 14336, actOrder: false, zeroPoints: false,
                            bias: false, f32Out: false)
            try int4Linears(tokens: [1, 9, 24, 129], depth: 4096, columns: 1000, groupSize: 64, actOrder: false, zeroPoints: true,
                            bias: true, f32Out: false)
            // The small kernel's 32-row CTAs (groups of 128, ≤ 8 tokens) with N not a multiple of 32 or 16, and f32 out.
            try int4Linears(tokens: [1, 7], depth: 1664, columns: 1000, groupSize: 128, actOrder: false, zeroPoints: true,
                            bias: true, f32Out: false, paths: [.small])
            try int4Linears(tokens: [2], depth: 512, columns: 300, groupSize: 128, actOrder: true, zeroPoints: false,
                            bias: false, f32Out: true, paths: [.small])
            // 8-bit weights (GPTQ 8-bit, compressed-tensors W8A16 and INT8 W8A8) as two 4-bit planes over 2K columns: every
            // path where int4Path sends them and forced, groups of 128 with zero points, act-order, one group a row
            // (the small kernel's non-grouped path, f32 out).
            try int4Linears(tokens: [1, 8, 20, 100, 300], depth: 2048, columns: 1000, groupSize: 128, actOrder: false, zeroPoints: true,
                            bias: true, f32Out: false, bits: 8)
            try int4Linears(tokens: [5, 30], depth: 1024, columns: 700, groupSize: 128, actOrder: true, zeroPoints: true,
                            bias: false, f32Out: false, bits: 8, paths: [.small, .gemm, .dequantized] + wgmma)
            try int4Linears(tokens: [3, 40], depth: 1536, columns: 512, groupSize: 1536, actOrder: false, zeroPoints: false,
                            bias: false, f32Out: true, bits: 8)
        }
        // FP8 weights (W8A8) where the device has FP8 tensor cores: linear_fp8_small up to 16 tokens (1 or 2 groups of
        // 8; `CUDABackend.fp8TakesSmall`), activations quantized per token + linear_fp8_wgmma or cuBLASLt's FP8 GEMM past
        // that (`fp8WgmmaTile`), each forced.
        if gpu.activationDType == .bfloat16, gpu.hasFP8TensorCores {
            try fp8Linears(tokens: [1, 3, 8, 9, 33, 100, 300], depth: 4096, columns: 1024, bias: true)
            try fp8Linears(tokens: [1, 8, 64, 256], depth: 14336, columns: 4096, bias: false)
            try fp8Linears(tokens: [5, 12, 16, 40], depth: 1664, columns: 1000, bias: true, paths: [.small, .blasLt])
            // Block scales: linear_fp8_small (blocks of 64 and 128 columns, a ragged last one) and the bf16 widening.
            try fp8Linears(tokens: [1, 3, 8, 9, 16], depth: 4096, columns: 1024, blockSize: (128, 128), bias: true,
                                paths: [.small, .dequantized])
            try fp8Linears(tokens: [2, 13, 40], depth: 1600, columns: 1000, blockSize: (64, 64), bias: false,
                                paths: [.small, .dequantized])
            // linear_fp8_wgmma (sm_90a) forced: one and two 64-token tiles, ragged N and tokens, a bias; the two-warpgroup
            // tiles with K split (K 14336 over 32 row tiles).
            if gpu.hasWgmma {
                try fp8Linears(tokens: [17, 64, 100, 128], depth: 1664, columns: 1000, bias: true, paths: [.wgmma])
                try fp8Linears(tokens: [70, 128], depth: 14336, columns: 4096, bias: false, paths: [.wgmma])
                // Block scales (128 × 128, as DeepSeek's and Qwen3-FP8's) on the wgmma path: one and two 64-token tiles,
                // 128-token tiles past 128, ragged N (a partial row block) and tokens, the K split on a deep one.
                try fp8Linears(tokens: [17, 64, 100, 200, 333, 1027], depth: 1664 - 128, columns: 1000, blockSize: (128, 128), bias: true,
                                    paths: [.wgmma, .blasLt])
                try fp8Linears(tokens: [70, 256, 1000], depth: 14336, columns: 4096, blockSize: (128, 128), bias: false,
                                    paths: [.wgmma, .blasLt])
            }
            try quantizedInputs()
        }
        for (heads, kvHeads, headSize, rotaryDim) in [(14, 2, 64, 64), (32, 8, 128, 128), (8, 4, 8, 8), (4, 2, 64, 32)] {
            try rotary(tokens: 37, heads, kvHeads, headSize, rotaryDim)
        }
        try rotary(tokens: 200, 32, 8, 128, 128)  // a prefill's many tokens: a row a CTA in splitQKV (split_qkv_rows)
        try rotary(tokens: 100, 4, 2, 64, 32)      // … with dims past the rotary ones
        try rotary(tokens: 70, 128, 8, 128, 128)   // … more 8-dim units than a CTA's 1024 threads (they loop)
        try encoderOps(rows: 37, dim: 384, heads: 12, sequences: [1, 12, 20, 4])  // all-MiniLM-L6-v2's shape
        try encoderOps(rows: 5, dim: 1024, heads: 16, sequences: [300, 2])       // bge-m3's
        try writeKVCache(tokens: 37, kvHeads: 2, headSize: 64, blockSize: 16, numBlocks: 40)
        try writeKVCache(tokens: 5, kvHeads: 8, headSize: 128, blockSize: 16, numBlocks: 9)
        // (context, new tokens) per sequence: a fresh prefill, a chunk over a cached prefix, decodes.
        try attention("mixed", heads: 14, kvHeads: 2, headSize: 64, blockSize: 16,
                      seqs: [(37, 37), (300, 45), (1000, 1), (17, 1)])
        try attention("decode-long", heads: 32, kvHeads: 8, headSize: 128, blockSize: 16,
                      seqs: [(4000, 1), (2500, 1), (1, 1)])
        try attention("prefill-long", heads: 32, kvHeads: 8, headSize: 128, blockSize: 16, seqs: [(1024, 1024)])
        try attention("tiny-heads", heads: 8, kvHeads: 4, headSize: 8, blockSize: 16, seqs: [(77, 77), (130, 3)])
        try attention("mha-96", heads: 4, kvHeads: 4, headSize: 96, blockSize: 32, seqs: [(600, 1), (65, 65)])
        try attention("gqa-16", heads: 16, kvHeads: 1, headSize: 256, blockSize: 8, seqs: [(513, 2), (9, 9)])
        try decodeAttentionCases()
        try prefillAttentionCases()
        if !gpu.kvCacheDTypes(headSize: 128).isEmpty { try float8CacheCases() }
        // Decodes first, then longer queries (the runner's order): the step runs as two, one kernel each.
        try attention("mixed-decodes-first", heads: 32, kvHeads: 8, headSize: 128, blockSize: 16,
                      seqs: [(300, 1), (17, 1), (1, 1), (512, 512), (700, 300)])
        try attention("mixed-64-decodes-then-chunk", heads: 16, kvHeads: 4, headSize: 128, blockSize: 16,
                      seqs: (0..<64).map { _ in (context: 1 + random.below(600), query: 1) } + [(900, 256)])
        for (tokens, inner) in [(37, 4864), (3, 1003), (1, 14336)] { try siluAndMul(tokens, inner) }
        try loraCases()
        try gather(rows: 37, hidden: 896, indices: [36, 0, 17, 17, 5])
        try fillDummy(rows: 3, columns: 4096, part: 1..<3)
        try fillDummy(rows: 1000, columns: 1003, part: 17..<900)
        try fillDummy(rows: 2048, columns: 4096, part: 512..<1536)
        // The sampler reads f32 logits whatever the activation dtype: checked once, with the bf16 backend.
        if gpu.activationDType == .bfloat16 {
            try sampling(vocab: 32000)
            try sampling(vocab: 151_936)
        }
    }

    mutating func embedding(_ tokens: Int, _ hidden: Int, _ vocab: Int) throws {
        let table = try pair(values(vocab * hidden), [vocab, hidden], weight: true)
        let ids = try int32Pair((0..<tokens).map { _ in Int32(random.below(vocab)) })
        let out = try outputs([tokens, hidden])
        try cpu.embedding(tokenIds: ids.0, table: table.0, out: out.0)
        try gpu.embedding(tokenIds: ids.1, table: table.1, out: out.1)
        try record("embedding", "T\(tokens) V\(vocab) H\(hidden)", cpu: out.0, gpu: out.1, tolerance: 0)
    }

    mutating func norms(_ rows: Int, _ dim: Int) throws {
        let x = try pair(values(rows * dim, scale: 3), [rows, dim])
        let weight = try pair(values(dim), [dim], weight: true)
        let out = try outputs([rows, dim])
        try cpu.rmsNorm(x.0, weight: weight.0, epsilon: 1e-6, out: out.0)
        try gpu.rmsNorm(x.1, weight: weight.1, epsilon: 1e-6, out: out.1)
        try record("rmsNorm", "N\(rows) D\(dim)", cpu: out.0, gpu: out.1)
        let residual = try pair(values(rows * dim), [rows, dim])
        try cpu.addRMSNorm(x.0, residual: residual.0, weight: weight.0, epsilon: 1e-5, out: out.0)
        try gpu.addRMSNorm(x.1, residual: residual.1, weight: weight.1, epsilon: 1e-5, out: out.1)
        try record("addRMSNorm", "N\(rows) D\(dim)", cpu: out.0, gpu: out.1)
        try record("addRMSNorm.residual", "N\(rows) D\(dim)", cpu: residual.0, gpu: residual.1)
    }

    /// The encoder ops (encoder.cu): LayerNorm with and without a residual (written over x), GELU, add, and
    /// bidirectional attention over sequences of different lengths.
    mutating func encoderOps(rows: Int, dim: Int, heads: Int, sequences: [Int]) throws {
        let x = try pair(values(rows * dim, scale: 3), [rows, dim])
        let residual = try pair(values(rows * dim), [rows, dim])
        let weight = try pair(values(dim), [dim], weight: true), bias = try pair(values(dim), [dim], weight: true)
        let out = try outputs([rows, dim])
        try cpu.layerNorm(x.0, residual: nil, weight: weight.0, bias: bias.0, epsilon: 1e-12, out: out.0)
        try gpu.layerNorm(x.1, residual: nil, weight: weight.1, bias: bias.1, epsilon: 1e-12, out: out.1)
        try record("layerNorm", "N\(rows) D\(dim)", cpu: out.0, gpu: out.1)
        try cpu.layerNorm(x.0, residual: residual.0, weight: weight.0, bias: bias.0, epsilon: 1e-5, out: x.0)
        try gpu.layerNorm(x.1, residual: residual.1, weight: weight.1, bias: bias.1, epsilon: 1e-5, out: x.1)
        try record("layerNorm+residual", "N\(rows) D\(dim) in place", cpu: x.0, gpu: x.1)
        try cpu.gelu(residual.0, out: out.0)
        try gpu.gelu(residual.1, out: out.1)
        try record("gelu", "N\(rows) D\(dim)", cpu: out.0, gpu: out.1)
        try cpu.add(x.0, residual.0, out: out.0)
        try gpu.add(x.1, residual.1, out: out.1)
        try record("add", "N\(rows) D\(dim)", cpu: out.0, gpu: out.1)

        let tokens = sequences.reduce(0, +), headSize = dim / heads
        var starts: [Int32] = [0]
        for length in sequences { starts.append(starts.last! + Int32(length)) }
        let qkv = try pair(values(tokens * 3 * dim), [tokens, 3 * dim])
        let attention = try outputs([tokens, dim])
        let queryStart = try int32Pair(starts)
        let scale = 1 / Float(headSize).squareRoot()
        try cpu.encoderAttention(qkv: qkv.0, queryStartLoc: queryStart.0, numSeqs: sequences.count, maxSeqLen: sequences.max()!,
                                 numHeads: heads, headSize: headSize, scale: scale, out: attention.0)
        try gpu.encoderAttention(qkv: qkv.1, queryStartLoc: queryStart.1, numSeqs: sequences.count, maxSeqLen: sequences.max()!,
                                 numHeads: heads, headSize: headSize, scale: scale, out: attention.1)
        try record("encoderAttention", "H\(heads) d\(headSize) seqs \(sequences.map(String.init).joined(separator: ","))",
                   cpu: attention.0, gpu: attention.1)
    }

    mutating func linear(_ tokens: Int, _ depth: Int, _ columns: Int, bias: Bool, f32Out: Bool) throws {
        let x = try pair(values(tokens * depth), [tokens, depth])
        let weight = try pair(values(columns * depth, scale: 0.05), [columns, depth], weight: true)
        let biasPair = bias ? try pair(values(columns), [columns], weight: true) : nil
        try linear(x: x, weight: weight, bias: biasPair, f32Out: f32Out)
    }

    /// One weight [N, K] (uniform values: the large ones would take seconds of normal draws), each token count.
    mutating func decodeLinears(tokens: [Int], _ depth: Int, _ columns: Int, bias: Bool, f32Out: Bool) throws {
        let weight = try pair(uniformValues(columns * depth, scale: 0.05), [columns, depth], weight: true)
        let biasPair = bias ? try pair(values(columns), [columns], weight: true) : nil
        for count in tokens {
            let x = try pair(values(count * depth), [count, depth])
            try linear(x: x, weight: weight, bias: biasPair, f32Out: f32Out)
        }
    }

    /// x [T, K] · weight [N, K]ᵀ (+ bias [N]) on both backends, recorded.
    mutating func linear(x: (Tensor, Tensor), weight: (Tensor, Tensor), bias: (Tensor, Tensor)?, f32Out: Bool) throws {
        let (tokens, depth, columns) = (x.0.shape[0], x.0.shape[1], weight.0.shape[0])
        let out = f32Out
            ? (try cpu.allocate(shape: [tokens, columns], dtype: .float32), try gpu.allocate(shape: [tokens, columns], dtype: .float32))
            : try outputs([tokens, columns])
        try cpu.linear(x.0, weight: weight.0, bias: bias?.0, out: out.0)
        try gpu.linear(x.1, weight: weight.1, bias: bias?.1, out: out.1)
        try record("linear", "T\(tokens) K\(depth) N\(columns)\(bias != nil ? " +bias" : "") →\(f32Out ? "f32" : "\(gpu.activationDType)")",
                   cpu: out.0, gpu: out.1)
    }

    /// A random 4-bit (or 8-bit) weight (`randomIntWeight`) times x of each token count, by each path.
    mutating func int4Linears(tokens: [Int], depth: Int, columns: Int, groupSize: Int, actOrder: Bool, zeroPoints: Bool,
                              bias: Bool, f32Out: Bool, bits: Int = 4, paths: [CUDABackend.Int4LinearPath] = [.automatic]) throws {
        let (dense, packed) = try randomIntWeight(depth: depth, columns: columns, groupSize: groupSize, bits: bits,
                                                  zeroPoints: zeroPoints, actOrder: actOrder)
        let biasPair = bias ? try pair(values(columns), [columns], weight: true) : nil
        for count in tokens {
            let x = try pair(values(count * depth), [count, depth])
            let dtype: DType = f32Out ? .float32 : gpu.activationDType
            let out = (try cpu.allocate(shape: [count, columns], dtype: f32Out ? .float32 : cpu.activationDType),
                       try gpu.allocate(shape: [count, columns], dtype: dtype))
            try cpu.linear(x.0, weight: dense, bias: biasPair?.0, out: out.0)
            for path in paths {
                try gpu.fillDummy(out.1, key: random.next())  // a path that writes nothing fails
                try gpu.linear(x.1, weight: packed, bias: biasPair?.1, out: out.1, path: path)
                let pathName = path == .automatic ? "" : " \(path)"
                try record("linear int\(bits)", "T\(count) K\(depth) N\(columns) g\(groupSize)\(actOrder ? " act-order" : "")"
                           + "\(zeroPoints ? " zeros" : "")\(bias ? " +bias" : "") →\(f32Out ? "f32" : "bf16")\(pathName)",
                           cpu: out.0, gpu: out.1)
            }
        }
    }

    /// A random 4- or 8-bit weight — codes, bf16 scales, zero points random or the middle code, act-order groups
    /// shuffled over the columns — as the CPU's dequantized copy and the GPU's packing.
    mutating func randomIntWeight(depth: Int, columns: Int, groupSize: Int, bits: Int, zeroPoints: Bool, actOrder: Bool) throws
        -> (dense: Tensor, packed: Int4Weight) {
        var weights = IntQuantizedWeights(n: columns, k: depth, bits: bits, groupSize: groupSize, scaleDType: .bfloat16)
        let top = UInt64(1) << bits
        for i in weights.codes.indices { weights.codes[i] = UInt8(truncatingIfNeeded: random.next() % top) }
        for i in weights.scales.indices {
            let scale = 0.002 + 0.004 * random.uniform()
            weights.scales[i] = HalfPrecision.float(fromBFloat16: HalfPrecision.bfloat16(from: bits == 8 ? scale / 16 : scale))
            weights.zeros[i] = zeroPoints ? Int32(1 + random.below(Int(top) - 1)) : Int32(top / 2)
        }
        if actOrder {
            var groups = (0..<depth).map { $0 / groupSize }
            random.shuffle(&groups)
            weights.groupIndex = groups
        }
        let dense = try cpu.makeTensor(weights.dequantized(), shape: [columns, depth], dtype: .float32)
        guard let packed = try gpu.makeInt4Weight(weights) else { throw BackendError("makeInt4Weight declined \(columns)×\(depth) g\(groupSize)") }
        return (dense, packed)
    }

    /// `fillDummy` on the GPU equals the CPU twin exactly, in the GPU's activation dtype: a whole tensor,
    /// then some of its rows (a view at an element offset, as a stacked weight's parts) with another key.
    mutating func fillDummy(rows: Int, columns: Int, part: Range<Int>) throws {
        let dtype = gpu.activationDType
        let out = (try cpu.allocate(shape: [rows, columns], dtype: dtype), try gpu.allocate(shape: [rows, columns], dtype: dtype))
        let keys = (random.next(), random.next())
        try cpu.fillDummy(out.0, key: keys.0)
        try gpu.fillDummy(out.1, key: keys.0)
        try cpu.fillDummy(out.0.rows(part), key: keys.1)
        try gpu.fillDummy(out.1.rows(part), key: keys.1)
        try record("fillDummy", "\(rows)×\(columns), rows \(part.lowerBound)..<\(part.upperBound) rekeyed", cpu: out.0, gpu: out.1,
                   tolerance: 0)
    }

    /// A rotary table [maxPositions, rotaryDim] f32 (cos of the rotaryDim/2 frequencies of base 10000, then sin) on each backend.
    func rotaryTable(maxPositions: Int, rotaryDim: Int) throws -> (Tensor, Tensor) {
        var table = [Float](repeating: 0, count: maxPositions * rotaryDim)
        let half = rotaryDim / 2
        for position in 0..<maxPositions {
            for i in 0..<half {
                let angle = Double(position) / pow(10000.0, Double(2 * i) / Double(rotaryDim))
                table[position * rotaryDim + i] = Float(cos(angle))
                table[position * rotaryDim + half + i] = Float(sin(angle))
            }
        }
        return (try cpu.makeTensor(table, shape: [maxPositions, rotaryDim], dtype: .float32),
                try gpu.makeTensor(table, shape: [maxPositions, rotaryDim], dtype: .float32))
    }

    mutating func rotary(tokens: Int, _ heads: Int, _ kvHeads: Int, _ headSize: Int, _ rotaryDim: Int) throws {
        let maxPositions = 8192
        let cosSin = try rotaryTable(maxPositions: maxPositions, rotaryDim: rotaryDim)
        let query = try pair(values(tokens * heads * headSize), [tokens, heads * headSize])
        let key = try pair(values(tokens * kvHeads * headSize), [tokens, kvHeads * headSize])
        let positions = try int32Pair((0..<tokens).map { _ in Int32(random.below(maxPositions)) })
        try cpu.rotaryEmbedding(query: query.0, key: key.0, positions: positions.0, cosSinCache: cosSin.0, headSize: headSize)
        try gpu.rotaryEmbedding(query: query.1, key: key.1, positions: positions.1, cosSinCache: cosSin.1, headSize: headSize)
        let shape = "T\(tokens) H\(heads)/\(kvHeads) d\(headSize) rot\(rotaryDim)"
        try record("rotary.query", shape, cpu: query.0, gpu: query.1)
        try record("rotary.key", shape, cpu: key.0, gpu: key.1)

        // The fused projection's split, with the rotation on the way and without it (Qwen3's order), into
        // tensors; then rotated into a paged cache (slots scattered, one skipped).
        let qWidth = heads * headSize, kvWidth = kvHeads * headSize
        let qkv = try pair(values(tokens * (qWidth + 2 * kvWidth)), [tokens, qWidth + 2 * kvWidth])
        for rotates in [true, false] {
            let parts = (try outputs([tokens, qWidth]), try outputs([tokens, kvWidth]), try outputs([tokens, kvWidth]))
            try cpu.splitQKV(qkv.0, query: parts.0.0, kv: .tensors(key: parts.1.0, value: parts.2.0), headSize: headSize,
                             rotary: rotates ? (positions.0, cosSin.0) : nil)
            try gpu.splitQKV(qkv.1, query: parts.0.1, kv: .tensors(key: parts.1.1, value: parts.2.1), headSize: headSize,
                             rotary: rotates ? (positions.1, cosSin.1) : nil)
            let name = rotates ? "splitQKV+rotary" : "splitQKV"
            try record("\(name).query", shape, cpu: parts.0.0, gpu: parts.0.1)
            try record("\(name).key", shape, cpu: parts.1.0, gpu: parts.1.1)
            try record("\(name).value", shape, cpu: parts.2.0, gpu: parts.2.1)
        }
        let blockSize = 16, numBlocks = (tokens + blockSize - 1) / blockSize + 3
        let cacheShape = [numBlocks, blockSize, kvHeads, headSize]
        let keyCache = try pair(values(cacheShape.reduce(1, *)), cacheShape)
        let valueCache = try pair(values(cacheShape.reduce(1, *)), cacheShape)
        var slots = (0..<(numBlocks * blockSize)).map(Int32.init)
        random.shuffle(&slots)
        let slotMapping = try int32Pair((0..<tokens).map { $0 == 3 ? -1 : slots[$0] })
        let cachedQuery = try outputs([tokens, qWidth])
        try cpu.splitQKV(qkv.0, query: cachedQuery.0, kv: .cache(PagedKVCache(key: keyCache.0, value: valueCache.0), slotMapping: slotMapping.0),
                         headSize: headSize, rotary: (positions.0, cosSin.0))
        try gpu.splitQKV(qkv.1, query: cachedQuery.1, kv: .cache(PagedKVCache(key: keyCache.1, value: valueCache.1), slotMapping: slotMapping.1),
                         headSize: headSize, rotary: (positions.1, cosSin.1))
        try record("splitQKV→cache.query", shape, cpu: cachedQuery.0, gpu: cachedQuery.1)
        try record("splitQKV→cache.keyCache", shape, cpu: keyCache.0, gpu: keyCache.1)
        try record("splitQKV→cache.valueCache", shape, cpu: valueCache.0, gpu: valueCache.1)
    }

    /// `splitQKV` into an fp8 cache (rotated, slots scattered, one skipped, scales 0.5 / 3) against the GPU's split into
    /// bf16 tensors and `writeKVCache` after it (bit for bit) and against the CPU (one step of the format: the CPU turns
    /// the keys in f32, the GPU rounds them to bf16 first).
    mutating func splitQKVIntoFloat8(tokens: Int, heads: Int, kvHeads: Int, headSize: Int, cacheDType: DType) throws {
        guard cacheDType.float8Format != nil else { return }
        let qWidth = heads * headSize, kvWidth = kvHeads * headSize
        let cosSin = try rotaryTable(maxPositions: 8192, rotaryDim: headSize)
        let positions = try int32Pair((0..<tokens).map { _ in Int32(random.below(8192)) })
        let qkv = try pair(values(tokens * (qWidth + 2 * kvWidth)), [tokens, qWidth + 2 * kvWidth])
        let blockSize = 16, numBlocks = (tokens + blockSize - 1) / blockSize + 3
        var slots = (0..<(numBlocks * blockSize)).map(Int32.init)
        random.shuffle(&slots)
        let slotMapping = try int32Pair((0..<tokens).map { $0 == tokens / 2 && tokens > 1 ? -1 : slots[$0] })
        let caches = try pagedCaches([numBlocks, blockSize, kvHeads, headSize], cacheDType, scales: (0.5, 3), on: [cpu, gpu, gpu])
        let (cpuCache, gpuCache, stagedCache) = (caches[0], caches[1], caches[2])
        let query = try outputs([tokens, qWidth]), stagedQuery = try gpu.allocate(shape: [tokens, qWidth], dtype: .bfloat16)
        try cpu.splitQKV(qkv.0, query: query.0, kv: .cache(cpuCache, slotMapping: slotMapping.0), headSize: headSize,
                         rotary: (positions.0, cosSin.0))
        try gpu.splitQKV(qkv.1, query: query.1, kv: .cache(gpuCache, slotMapping: slotMapping.1), headSize: headSize,
                         rotary: (positions.1, cosSin.1))
        let key = try gpu.allocate(shape: [tokens, kvWidth], dtype: .bfloat16), value = try gpu.allocate(shape: [tokens, kvWidth], dtype: .bfloat16)
        try gpu.splitQKV(qkv.1, query: stagedQuery, kv: .tensors(key: key, value: value), headSize: headSize,
                         rotary: (positions.1, cosSin.1))
        try gpu.writeKVCache(key: key, value: value, cache: stagedCache, slotMapping: slotMapping.1)
        let description = "T\(tokens) H\(heads)/\(kvHeads) d\(headSize) \(cacheDType) scales 0.5/3"
        for (part, cpuTensor, gpuTensor, staged) in [("query", query.0, query.1, stagedQuery),
                                                     ("keyCache", cpuCache.key, gpuCache.key, stagedCache.key),
                                                     ("valueCache", cpuCache.value, gpuCache.value, stagedCache.value)] {
            try record("splitQKV→fp8 cache.\(part)", description + " vs split → writeKVCache", gpuReference: staged, gpu: gpuTensor,
                       tolerance: 0)
            try record("splitQKV→fp8 cache.\(part)", description, cpu: cpuTensor, gpu: gpuTensor,
                       tolerance: part == "query" ? nil : Self.float8StepTolerance(cacheDType))
        }
    }

    mutating func writeKVCache(tokens: Int, kvHeads: Int, headSize: Int, blockSize: Int, numBlocks: Int,
                               cacheDType: DType? = nil, kvScales: (key: Float, value: Float) = (1, 1)) throws {
        let shape = [numBlocks, blockSize, kvHeads, headSize]
        let keyCache = try cachePair(shape, cacheDType)
        let valueCache = try cachePair(shape, cacheDType)
        let key = try pair(values(tokens * kvHeads * headSize), [tokens, kvHeads * headSize])
        let value = try pair(values(tokens * kvHeads * headSize), [tokens, kvHeads * headSize])
        var slots = Array(0..<Int32(numBlocks * blockSize))
        random.shuffle(&slots)
        var mapping = Array(slots.prefix(tokens))
        mapping[tokens / 2] = -1  // a padding token: skipped
        let slotMapping = try int32Pair(mapping)
        try cpu.writeKVCache(key: key.0, value: value.0, cache: PagedKVCache(key: keyCache.0, value: valueCache.0,
                                                                             keyScale: kvScales.key, valueScale: kvScales.value),
                             slotMapping: slotMapping.0)
        try gpu.writeKVCache(key: key.1, value: value.1, cache: PagedKVCache(key: keyCache.1, value: valueCache.1,
                                                                             keyScale: kvScales.key, valueScale: kvScales.value),
                             slotMapping: slotMapping.1)
        let description = "T\(tokens) blocks\(numBlocks)×\(blockSize) kv\(kvHeads) d\(headSize)"
            + (cacheDType.map { " \($0) scales \(kvScales.key)/\(kvScales.value)" } ?? "")
        try record("writeKVCache.key", description, cpu: keyCache.0, gpu: keyCache.1, tolerance: 0)
        try record("writeKVCache.value", description, cpu: valueCache.0, gpu: valueCache.1, tolerance: 0)
    }

    mutating func siluAndMul(_ tokens: Int, _ inner: Int) throws {
        let x = try pair(values(tokens * 2 * inner, scale: 2), [tokens, 2 * inner])
        let out = try outputs([tokens, inner])
        try cpu.siluAndMul(x.0, out: out.0)
        try gpu.siluAndMul(x.1, out: out.1)
        try record("siluAndMul", "T\(tokens) I\(inner)", cpu: out.0, gpu: out.1)
    }

    mutating func gather(rows: Int, hidden: Int, indices: [Int32]) throws {
        let x = try pair(values(rows * hidden), [rows, hidden])
        let index = try int32Pair(indices)
        let out = try outputs([indices.count, hidden])
        try cpu.gatherRows(x.0, indices: index.0, out: out.0)
        try gpu.gatherRows(x.1, indices: index.1, out: out.1)
        try record("gatherRows", "T\(rows) S\(indices.count) H\(hidden)", cpu: out.0, gpu: out.1, tolerance: 0)
        let logits = values(rows * 300)
        let xf = (try cpu.makeTensor(logits, shape: [rows, 300], dtype: .float32),
                  try gpu.makeTensor(logits, shape: [rows, 300], dtype: .float32))
        let outf = (try cpu.allocate(shape: [indices.count, 300], dtype: .float32),
                    try gpu.allocate(shape: [indices.count, 300], dtype: .float32))
        try cpu.gatherRows(xf.0, indices: index.0, out: outf.0)
        try gpu.gatherRows(xf.1, indices: index.1, out: outf.1)
        try record("gatherRows.f32", "T\(rows) S\(indices.count) V300", cpu: outf.0, gpu: outf.1, tolerance: 0)
        // A step's pending input tokens, from sampler rows of stride 3 (sample_f32's result words have more).
        let sampled = (0..<24).map { Int32($0 * 7 + 1) }, tokenIds = (0..<16).map { Int32($0) }
        let (sources, positions): ([Int32], [Int32]) = ([5, 0, 7], [15, 3, 9])
        var got: [[Int32]] = []
        for backend in [cpu, gpu] as [any Backend] {
            let target = try backend.makeInt32(tokenIds)
            try backend.scatterSampledTokens(try backend.makeInt32(sampled), stride: 3, rows: try backend.makeInt32(sources),
                                             positions: try backend.makeInt32(positions), into: target)
            got.append(try backend.downloadInt32(target))
        }
        let mismatches = zip(got[0], got[1]).filter { $0 != $1 }.count
        results.append(OpCheckResult(op: "scatterSampledTokens", shape: "T16 P3 stride 3", error: Float(mismatches), tolerance: 0))
        try tokenBitmask(rows: rows, vocab: 151_936)
    }

    /// Structured outputs' masks on rows 0 and rows-1 of a Qwen-width logits block; a mask shorter than the
    /// vocabulary masks the rest. Exact: masked entries are -inf, the others untouched.
    mutating func tokenBitmask(rows: Int, vocab: Int) throws {
        let logits = values(rows * vocab)
        let words = (vocab - 100 + 31) / 32
        var masks: [UInt32] = []
        for _ in 0..<2 { for _ in 0..<words { masks.append(UInt32(truncatingIfNeeded: random.next())) } }
        let targetRows: [Int32] = [0, Int32(rows - 1)]
        let x = (try cpu.makeTensor(logits, shape: [rows, vocab], dtype: .float32),
                 try gpu.makeTensor(logits, shape: [rows, vocab], dtype: .float32))
        try cpu.applyTokenBitmask(logits: x.0, rows: targetRows, masks: masks)
        try gpu.applyTokenBitmask(logits: x.1, rows: targetRows, masks: masks)
        let (a, b) = (try cpu.downloadFloats(x.0), try gpu.downloadFloats(x.1))
        let mismatches = zip(a, b).filter { $0 != $1 && !($0.isNaN && $1.isNaN) }.count
        results.append(OpCheckResult(op: "applyTokenBitmask", shape: "S\(rows) V\(vocab) 2 masks", error: Float(mismatches), tolerance: 0))
    }
}

/// SplitMix64 random numbers for the check inputs (reproducible by `--seed`).
struct CheckRandom {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SamplingRandom.mix(state &- 0x9E37_79B9_7F4A_7C15)
    }

    /// Uniform in [0, 1).
    mutating func uniform() -> Float { Float(next() >> 40) / Float(1 << 24) }

    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    /// Standard normal (Box–Muller).
    mutating func normal() -> Float {
        let u = max(uniform(), 1e-7)
        let v = uniform()
        return Float((-2 * log(Double(u))).squareRoot() * cos(2 * Double.pi * Double(v)))
    }

    mutating func shuffle<Element>(_ array: inout [Element]) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) { array.swapAt(i, below(i + 1)) }
    }
}
