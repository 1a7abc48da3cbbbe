import VLLMCUDA

/// `check-gpu --bench-linear`.
public enum LinearBenchmark {
    /// `--bench-linear`: each linear of a Llama-3-8B decode step (q/k/v fused and apart, o, gate_up, down,
    /// lm_head with its f32 logits) at 1 to 2048 tokens (linear.cu takes up to 8), and those of Qwen2.5-14B (the
    /// deployment's GPTQ-int4 shape) at its decode batches of 32 to 128: median GPU time and weight bytes per
    /// second of each path (bf16 by linear.cu and cuBLASLt; 4-bit; fp8).
    public static func run(_ gpu: CUDABackend) throws {
        let llama = [1, 4, 8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 512, 1024, 2048]
        let qwenDecode = [32, 48, 64, 80, 100, 128]
        let shapes: [(name: String, columns: Int, depth: Int, f32Out: Bool, tokens: [Int])] = [
            ("qkv", 6144, 4096, false, llama), ("q / o", 4096, 4096, false, llama), ("k / v", 1024, 4096, false, llama),
            ("gate_up", 28672, 4096, false, llama), ("down", 4096, 14336, false, llama), ("lm_head", 128256, 4096, true, llama),
            ("qwen14b qkv", 7168, 5120, false, qwenDecode), ("qwen14b o", 5120, 5120, false, qwenDecode),
            ("qwen14b gate_up", 27648, 5120, false, qwenDecode), ("qwen14b down", 5120, 13824, false, qwenDecode),
        ]
        func rounded(_ value: Double) -> Double { (value * 10).rounded() / 10 }
        for shape in shapes {
            let bytes = Double(shape.columns * shape.depth * 2)
            func rate(_ microseconds: Double) -> String {
                "\(rounded(microseconds)) µs \(Int((bytes / microseconds / 1e3).rounded())) GB/s"
            }
            for tokens in shape.tokens {
                let timing = try gpu.benchmarkLinear(tokens: tokens, columns: shape.columns, depth: shape.depth,
                                                     f32Out: shape.f32Out)
                let int4 = timing.int4.map { "\(rounded($0)) µs \(Int((bytes / 4 / $0 / 1e3).rounded())) GB/s packed" } ?? "n/a"
                // Past 16 tokens also each 4-bit path, with TFLOP/s.
                let flops = 2 * Double(tokens * shape.columns * shape.depth)
                let paths = timing.int4ByPath.map {
                    "; int4 \($0.path) \(rounded($0.microseconds)) µs \(Int((flops / $0.microseconds / 1e6).rounded())) TFLOP/s"
                }.joined()
                func fp8(_ label: String, _ microseconds: Double?) -> String {
                    guard let microseconds else { return "" }
                    return "; fp8 \(label) \(rounded(microseconds)) µs \(Int((bytes / 2 / microseconds / 1e3).rounded())) GB/s "
                        + "\(Int((flops / microseconds / 1e6).rounded())) TFLOP/s"
                }
                let fp8Paths = fp8("small", timing.fp8Small) + fp8("cuBLASLt", timing.fp8BlasLt)
                    + fp8("cuBLASLt exact-accum", timing.fp8BlasLtExactAccumulation)
                    + timing.fp8BlocksByPath.map { fp8("blocks \($0.path)", $0.microseconds) }.joined()
                print("bench-linear \(shape.name) T \(tokens) N \(shape.columns) K \(shape.depth): "
                      + "linear.cu \(timing.smallLinear.map(rate) ?? "n/a"), cuBLASLt \(rate(timing.blasLt)), int4 \(int4)\(paths)"
                      + (paths.isEmpty ? "" : "; cuBLASLt bf16 \(Int((flops / timing.blasLt / 1e6).rounded())) TFLOP/s") + fp8Paths)
            }
        }
        try gpu.releaseCachedMemory()
    }
}
