import VLLMCompute

/// `--load-format dummy`'s values, the twin of the CUDA backend's `fill_dummy_*` (Kernels/dummy.cu).
extension CPUBackend {
    public func fillDummy(_ out: Tensor, key: UInt64) throws {
        try expect(out.dtype.isFloatingPoint, "fillDummy: \(out) is not a float tensor")
        parallelFor(out.count, grain: 1 << 16) { range in
            for i in range { out.store(Self.dummyValue(key: key, index: i), at: i) }
        }
    }

    /// Uniform in [-1e-3, 1e-3): the top 24 bits of `mix(key ^ index)` as u in [0, 1), then (u · 2 − 1) · 1e-3.
    /// Every step is exact in f32 but the last product, which rounds once.
    @inline(__always)
    static func dummyValue(key: UInt64, index: Int) -> Float {
        let bits = SamplingRandom.mix(key ^ UInt64(index))
        return (Float(bits >> 40) / 16_777_216 * 2 - 1) * 1e-3
    }
}
