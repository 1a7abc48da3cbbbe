import VLLMCPU
import VLLMCUDA
import VLLMCompute

/// check-gpu's FP8 linears (linear_fp8.cu, linear_fp8_wgmma.cu, cuBLASLt's FP8 GEMMs) against the CPU.
extension OpChecker {
    /// A random e4m3 weight (every finite code, subnormals included) with an f32 scale per row, or one a block of
    /// `blockSize` rows × columns (block-scaled checkpoints): the CPU's dequantized copy and the GPU's.
    mutating func randomFP8Weight(depth: Int, columns: Int, blockSize: (n: Int, k: Int)? = nil) throws -> (dense: Tensor, fp8: FP8Weight) {
        var codes = (0..<columns * depth).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        for i in codes.indices where codes[i] & 0x7F == 0x7F { codes[i] ^= 1 }  // NaN → the largest finite
        let numScales = blockSize.map { ((columns + $0.n - 1) / $0.n) * ((depth + $0.k - 1) / $0.k) } ?? columns
        let weights = Float8QuantizedWeights(n: columns, k: depth, codes: codes,
                                             scales: (0..<numScales).map { _ in 1e-3 * (1 + random.uniform()) }, scaleDType: .float32,
                                             blockSize: blockSize)
        let dense = try cpu.makeTensor(weights.dequantized(), shape: [columns, depth], dtype: .float32)
        guard let fp8 = try gpu.makeFP8Weight(weights) else { throw BackendError("makeFP8Weight declined \(columns)×\(depth)") }
        return (dense, fp8)
    }

    /// A random e4m3 weight (every finite code, subnormals included) with a scale per row — or per block of `blockSize`
    /// — times x of each token count by each path. The reference is the CPU on the dequantized weight and x as the path
    /// sees it: bf16 for linear_fp8_small and the weight widened to bf16; for the FP8 GEMMs quantized as their kernels
    /// quantize it — per token (quantize_fp8_rows_bf16), or per token per bk columns on block scales
    /// (quantize_fp8_groups_bf16) — those paths also compared with unquantized x, at e4m3's precision ("vs bf16 x").
    mutating func fp8Linears(tokens: [Int], depth: Int, columns: Int, blockSize: (n: Int, k: Int)? = nil, bias: Bool,
                             paths: [CUDABackend.FP8LinearPath] = [.automatic]) throws {
        if let blockSize, !CUDABackend.fp8BlocksApply(blockSize) {  // SWIFT_VLLM_FP8_BLOCKS=0: dequantized at load
            progress?("skipped: FP8 linears on \(blockSize.n)×\(blockSize.k) blocks (SWIFT_VLLM_FP8_BLOCKS=0 dequantizes them at load)")
            return
        }
        let (dense, fp8) = try randomFP8Weight(depth: depth, columns: columns, blockSize: blockSize)
        let biasPair = bias ? try pair(values(columns), [columns], weight: true) : nil
        let group = blockSize?.k ?? depth  // the columns one activation scale covers
        for count in tokens {
            let xValues = values(count * depth)
            let x = try pair(xValues, [count, depth])
            let plain = try cpu.allocate(shape: [count, columns], dtype: .float32)
            try cpu.linear(x.0, weight: dense, bias: biasPair?.0, out: plain)
            // x as the quantizing kernels leave it: scale = max(amax / 448, 1 / (448 · 512)) a group, e4m3(x / scale).
            var quantized = xValues
            for start in stride(from: 0, to: count * depth, by: group) {
                let values = xValues[start ..< start + group]
                let scale = max(values.reduce(0) { max($0, abs($1)) } / 448, 1 / (448 * 512))
                let inverse = 1 / scale
                for i in values.indices { quantized[i] = Float8Format.e4m3fn.decode(Float8Format.e4m3fn.encode(xValues[i] * inverse)) * scale }
            }
            let quantizedReference = try cpu.allocate(shape: [count, columns], dtype: .float32)
            try cpu.linear(try cpu.makeTensor(quantized, shape: [count, depth], dtype: .float32), weight: dense, bias: biasPair?.0,
                           out: quantizedReference)
            let out = try gpu.allocate(shape: [count, columns], dtype: .bfloat16)
            for path in paths {
                let chosen = path == .automatic ? gpu.fp8Path(tokens: count, columns: columns, depth: depth, blockSize: blockSize) : path
                if chosen == .small && count > CUDABackend.fp8SmallMaxTokens { continue }
                try gpu.fillDummy(out, key: random.next())  // a path that writes nothing fails
                try gpu.linear(x.1, weight: fp8, bias: biasPair?.1, out: out, path: path)
                let name = if let blockSize {
                    "T\(count) K\(depth) N\(columns) blocks \(blockSize.n)×\(blockSize.k)\(bias ? " +bias" : "") \(path)"
                } else {
                    "T\(count) K\(depth) N\(columns)\(bias ? " +bias" : "") \(chosen == .small ? "small" : chosen == .wgmma ? "wgmma" : "blasLt")"
                }
                let quantizesX = chosen != .small && chosen != .dequantized
                try record("linear fp8", name, cpu: quantizesX ? quantizedReference : plain, gpu: out)
                if quantizesX { try record("linear fp8", name + " vs bf16 x", cpu: plain, gpu: out, tolerance: 5e-2) }
            }
        }
    }
}
