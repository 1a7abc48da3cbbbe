import VLLMCompute
import VLLMCPU
import VLLMCUDA

extension OpChecker {
    /// `fusedLinear` (linear.cu's and linear_int4.cu's decode kernels with the SiLU·mul or the residual add folded in)
    /// against the CPU running the two ops: linear → siluAndMul, linear → addRMSNorm's add. A shape the GPU should fuse
    /// but declines fails.
    mutating func fusedLinears() throws {
        // bf16 weights: Llama-3-8B's gate_up, down (16-row CTAs at 8 tokens: x outgrows L1) and o, odd shapes with a
        // short K and a bias, N not a multiple of a CTA's rows.
        for (tokens, depth, columns, bias) in [([1, 3, 8], 4096, 2 * 14336, false), ([1, 8], 14336, 4096, false),
                                               ([1, 5], 4096, 4096, false), ([2, 7], 64, 2 * 100, true), ([1, 6], 896, 2 * 1003, true)] {
            let weight = try pair(uniformValues(columns * depth, scale: 0.02), [columns, depth], weight: true)
            let biasPair = bias ? try pair(values(columns), [columns], weight: true) : nil
            for count in tokens {
                try fusedLinear(count, weight: (.dense(weight.0), .dense(weight.1)), depth: depth, columns: columns,
                                bias: biasPair, name: "bf16")
            }
        }
        // 4- and 8-bit weights: groups of 128 (two 16-row tiles a CTA at ≤ 8 tokens, token groups of 8 past it), groups
        // of 32 (every element dequantized), one group a row, an 8-bit weight's two planes.
        for (tokens, depth, columns, groupSize, bits, bias) in [([1, 5, 8, 13, 16], 4096, 2 * 1400, 128, 4, false),
                                                               ([1, 11], 1024, 2 * 700, 32, 4, true),
                                                               ([2, 9], 1536, 1000, 1536, 4, false),
                                                               ([1, 6, 16], 2048, 2 * 1000, 128, 8, true)] {
            let (dense, packed) = try randomIntWeight(depth: depth, columns: columns, groupSize: groupSize, bits: bits,
                                                      zeroPoints: true, actOrder: false)
            let biasPair = bias ? try pair(values(columns), [columns], weight: true) : nil
            for count in tokens {
                try fusedLinear(count, weight: (.dense(dense), .int4(packed)), depth: depth, columns: columns, bias: biasPair,
                                name: "int\(bits) g\(groupSize)")
            }
        }
        try fusedSplitQKVCases()
    }

    /// The q/k/v projection with its split folded in (`LinearEpilogue.splitQKV`, 4- and 8-bit weights: linear_int4_decode's
    /// 32-row CTAs at ≤ 8 tokens, linear_int4_small's 16 past it): Llama-3-8B's heads (32 / 8 of 128), Qwen2.5's with a
    /// bias (28 / 4), head size 64; into bf16 and fp8 caches. bf16 weights decline it (CUDABackend.fusedLinear).
    mutating func fusedSplitQKVCases() throws {
        let fp8 = gpu.kvCacheDTypes(headSize: 128).isEmpty ? [] : [DType.float8E4M3, .float8E5M2]
        for (heads, kvHeads, headSize, depth, bias) in [(32, 8, 128, 4096, false), (28, 4, 128, 3584, true), (16, 4, 64, 1024, true)] {
            let columns = (heads + 2 * kvHeads) * headSize
            let biasPair = bias ? try pair(values(columns), [columns], weight: true) : nil
            let cases: [(bits: Int, steps: [(tokens: Int, cache: DType?)])] = [
                (4, [(1, nil), (5, fp8.first), (8, fp8.last), (12, nil), (16, fp8.last)]), (8, [(3, fp8.first)]),
            ]
            for (bits, steps) in cases {
                let (dense, packed) = try randomIntWeight(depth: depth, columns: columns, groupSize: 128, bits: bits,
                                                          zeroPoints: true, actOrder: false)
                for (tokens, cacheDType) in steps {
                    try fusedSplitQKV(tokens, heads: heads, kvHeads: kvHeads, headSize: headSize, depth: depth,
                                      weight: (.dense(dense), .int4(packed)), bias: biasPair, name: "int\(bits) g128",
                                      cacheDType: cacheDType)
                }
            }
        }
    }

    /// One `fusedLinear` with the split against the GPU's own linear → splitQKV (bit for bit: the same sums, rounded
    /// the same way) and against the CPU's; a cache of scattered slots, one skipped, with scales where fp8.
    mutating func fusedSplitQKV(_ tokens: Int, heads: Int, kvHeads: Int, headSize: Int, depth: Int,
                                weight: (LinearWeight, LinearWeight), bias: (Tensor, Tensor)?, name: String,
                                cacheDType: DType?) throws {
        let qWidth = heads * headSize, columns = qWidth + 2 * kvHeads * headSize
        let x = try pair(values(tokens * depth), [tokens, depth])
        let cosSin = try rotaryTable(maxPositions: 8192, rotaryDim: headSize)
        let positions = try int32Pair((0..<tokens).map { _ in Int32(random.below(8192)) })
        let blockSize = 16, numBlocks = (tokens + blockSize - 1) / blockSize + 3
        var slots = (0..<(numBlocks * blockSize)).map(Int32.init)
        random.shuffle(&slots)
        let slotMapping = try int32Pair((0..<tokens).map { $0 == 3 ? -1 : slots[$0] })
        // The same starting cache three times: the CPU's, the GPU's unfused ops' and the fused kernel's.
        let caches = try pagedCaches([numBlocks, blockSize, kvHeads, headSize], cacheDType,
                                     scales: cacheDType == nil ? (1, 1) : (0.5, 3), on: [cpu, gpu, gpu])
        let (cpuCache, gpuCache, fusedCache) = (caches[0], caches[1], caches[2])
        let product = (try cpu.allocate(shape: [tokens, columns], dtype: cpu.activationDType),
                       try gpu.allocate(shape: [tokens, columns], dtype: .bfloat16))
        let query = try outputs([tokens, qWidth]), fusedQuery = try gpu.allocate(shape: [tokens, qWidth], dtype: .bfloat16)
        try cpu.linear(x.0, weight: weight.0, bias: bias?.0, out: product.0)
        try cpu.splitQKV(product.0, query: query.0, kv: .cache(cpuCache, slotMapping: slotMapping.0), headSize: headSize,
                         rotary: (positions.0, cosSin.0))
        try gpu.linear(x.1, weight: weight.1, bias: bias?.1, out: product.1)
        try gpu.splitQKV(product.1, query: query.1, kv: .cache(gpuCache, slotMapping: slotMapping.1), headSize: headSize,
                         rotary: (positions.1, cosSin.1))
        let split = LinearEpilogue.splitQKV(cache: fusedCache, slotMapping: slotMapping.1, positions: positions.1,
                                            cosSinCache: cosSin.1, headSize: headSize)
        let description = "T\(tokens) H\(heads)/\(kvHeads) d\(headSize) K\(depth) \(name)\(bias != nil ? " +bias" : "")"
            + (cacheDType.map { " \($0) cache" } ?? "")
        guard try gpu.fusedLinear(x.1, weight: weight.1, bias: bias?.1, epilogue: split, out: fusedQuery) else {
            results.append(OpCheckResult(op: "fusedLinear + splitQKV", shape: description + " (declined)", error: .infinity,
                                         tolerance: defaultTolerance))
            return
        }
        for (part, cpuTensor, gpuTensor, fusedTensor) in [("query", query.0, query.1, fusedQuery),
                                                          ("keyCache", cpuCache.key, gpuCache.key, fusedCache.key),
                                                          ("valueCache", cpuCache.value, gpuCache.value, fusedCache.value)] {
            try record("fusedLinear + splitQKV.\(part)", description + " vs linear → splitQKV", gpuReference: gpuTensor,
                       gpu: fusedTensor, tolerance: 0)
            try record("fusedLinear + splitQKV.\(part)", description, cpu: cpuTensor, gpu: fusedTensor,
                       tolerance: part == "query" ? nil : Self.float8StepTolerance(cacheDType))
        }
    }

    /// x · weightᵀ (+ bias) with each epilogue (SiLU·mul where N is even), fused on the GPU, against the CPU's two ops.
    mutating func fusedLinear(_ tokens: Int, weight: (LinearWeight, LinearWeight), depth: Int, columns: Int,
                              bias: (Tensor, Tensor)?, name: String) throws {
        let x = try pair(values(tokens * depth), [tokens, depth])
        let product = try cpu.allocate(shape: [tokens, columns], dtype: cpu.activationDType)
        try cpu.linear(x.0, weight: weight.0, bias: bias?.0, out: product)
        let shape = "T\(tokens) K\(depth) N\(columns) \(name)\(bias != nil ? " +bias" : "")"
        var runs: [(LinearEpilogue, cpu: Tensor, gpu: Tensor, fused: Bool)] = []
        if columns % 2 == 0 {
            let reference = try cpu.allocate(shape: [tokens, columns / 2], dtype: cpu.activationDType)
            try cpu.siluAndMul(product, out: reference)
            let out = try gpu.allocate(shape: [tokens, columns / 2], dtype: .bfloat16)
            try gpu.fillDummy(out, key: random.next())  // a kernel that writes nothing fails
            runs.append((.siluAndMul, reference, out, try gpu.fusedLinear(x.1, weight: weight.1, bias: bias?.1, epilogue: .siluAndMul,
                                                                             out: out)))
        }
        let residual = try pair(values(tokens * columns), [tokens, columns])
        let normed = try cpu.allocate(shape: [tokens, columns], dtype: cpu.activationDType)
        let ones = try cpu.makeTensor([Float](repeating: 1, count: columns), shape: [columns], dtype: cpu.activationDType)
        try cpu.addRMSNorm(product, residual: residual.0, weight: ones, epsilon: 1e-5, out: normed)  // residual += product
        runs.append((.addToOut, residual.0, residual.1, try gpu.fusedLinear(x.1, weight: weight.1, bias: bias?.1, epilogue: .addToOut,
                                                                               out: residual.1)))
        for (epilogue, reference, out, fused) in runs {
            let op = "fusedLinear + \(epilogue.name)"
            guard fused else {
                results.append(OpCheckResult(op: op, shape: shape + " (declined)", error: .infinity, tolerance: defaultTolerance))
                continue
            }
            try record(op, shape, cpu: reference, gpu: out)
        }
    }
}

extension OpChecker {
    /// The ops that quantize their output for the FP8 linear they feed (`rmsNorm(…feeding:)`, `siluAndMul(…feeding:)`:
    /// layernorm.cu's and elementwise.cu's *_quant_fp8 kernels), against the plain op and the linear quantizing its
    /// own input — bit for bit, out, residual and the product. Then a quantized copy the linear must not take: another
    /// op's between (the scratch then holds that op's input). A scale a row, and on block scales (128 × 128) a scale
    /// per token per 128 columns for cuBLASLt's block-scaled GEMM (the *_groups kernels; 17 tokens, not a multiple of
    /// 4, quantized by the linear itself).
    mutating func quantizedInputs() throws {
        let cases: [(Int, Int, (n: Int, k: Int)?)] = [(40, 4096, nil), (300, 5120, nil), (17, 14336, nil),
                                                      (40, 4096, (128, 128)), (300, 5120, (128, 128)),
                                                      (17, 14336, (128, 128)), (64, 14336, (128, 128))]
        for (tokens, depth, blockSize) in cases {
            if let blockSize, !CUDABackend.fp8BlocksApply(blockSize) {  // SWIFT_VLLM_FP8_BLOCKS=0: dequantized at load
                progress?("skipped: quantized inputs of \(blockSize.n)×\(blockSize.k) blocks (SWIFT_VLLM_FP8_BLOCKS=0)")
                continue
            }
            let (_, fp8) = try randomFP8Weight(depth: depth, columns: 256, blockSize: blockSize)
            let feeding = LinearWeight.fp8(fp8)
            let x = try gpu.makeTensor(values(tokens * depth), shape: [tokens, depth], dtype: .bfloat16)
            let norm = try gpu.makeTensor(values(depth, scale: 0.5).map { 1 + $0 }, shape: [depth], dtype: .bfloat16)
            let shape = "T\(tokens) K\(depth) → fp8 N256" + (blockSize.map { " blocks \($0.n)×\($0.k)" } ?? "")
            func tensors(_ count: Int, _ n: Int) throws -> [Tensor] {
                try (0..<count).map { _ in try gpu.allocate(shape: [tokens, n], dtype: .bfloat16) }
            }
            /// The product of `input` by the fp8 weight.
            func product(_ input: Tensor) throws -> Tensor {
                let out = try gpu.allocate(shape: [tokens, 256], dtype: .bfloat16)
                try gpu.linear(input, weight: fp8, bias: nil, out: out)
                return out
            }
            for withResidual in [false, true] {
                let residuals = try tensors(2, depth), normed = try tensors(3, depth)
                let start = values(tokens * depth)
                for residual in residuals { try gpu.copy(try gpu.makeTensor(start, shape: [tokens, depth], dtype: .bfloat16), to: residual) }
                if withResidual {
                    try gpu.addRMSNorm(x, residual: residuals[0], weight: norm, epsilon: 1e-5, out: normed[0])
                } else {
                    try gpu.rmsNorm(x, weight: norm, epsilon: 1e-5, out: normed[0])
                }
                let plain = try product(normed[0])
                try gpu.rmsNorm(x, residual: withResidual ? residuals[1] : nil, weight: norm, epsilon: 1e-5, out: normed[1],
                                feeding: feeding)
                let fused = try product(normed[1])
                let name = withResidual ? "addRMSNorm feeding fp8" : "rmsNorm feeding fp8"
                try record(name + ".out", shape, gpuReference: normed[0], gpu: normed[1], tolerance: 0)
                if withResidual { try record(name + ".residual", shape, gpuReference: residuals[0], gpu: residuals[1], tolerance: 0) }
                try record(name + " → linear", shape, gpuReference: plain, gpu: fused, tolerance: 0)
                // Norm of x into normed[1] feeding the linear, then another norm feeding it (of x's negation): the
                // linear of normed[1] must quantize normed[1] itself.
                let negated = try gpu.makeTensor(try gpu.downloadFloats(x).map { -$0 }, shape: [tokens, depth], dtype: .bfloat16)
                try gpu.rmsNorm(x, residual: nil, weight: norm, epsilon: 1e-5, out: normed[1], feeding: feeding)
                try gpu.rmsNorm(negated, residual: nil, weight: norm, epsilon: 1e-5, out: normed[2], feeding: feeding)
                if !withResidual { try record("rmsNorm feeding fp8, another op between → linear", shape, gpuReference: plain,
                                              gpu: try product(normed[1]), tolerance: 0) }
            }
            let gateUp = try gpu.makeTensor(values(tokens * 2 * depth, scale: 2), shape: [tokens, 2 * depth], dtype: .bfloat16)
            let activated = try tensors(2, depth)
            try gpu.siluAndMul(gateUp, out: activated[0])
            let plain = try product(activated[0])
            try gpu.siluAndMul(gateUp, out: activated[1], feeding: feeding)
            let fused = try product(activated[1])
            try record("siluAndMul feeding fp8.out", shape, gpuReference: activated[0], gpu: activated[1], tolerance: 0)
            try record("siluAndMul feeding fp8 → linear", shape, gpuReference: plain, gpu: fused, tolerance: 0)
        }
    }
}

