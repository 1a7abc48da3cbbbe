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
            let op = "fusedLinear + \(epilogue)"
            guard fused else {
                results.append(OpCheckResult(op: op, shape: shape + " (declined)", error: .infinity, tolerance: defaultTolerance))
                continue
            }
            try record(op, shape, cpu: reference, gpu: out)
        }
    }
}
