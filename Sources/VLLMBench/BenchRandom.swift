import Foundation

/// The benchmarks' seeded generator: xoshiro256** seeded through SplitMix64. Everything a benchmark draws
/// (prompt lengths and tokens, the order of a dataset, arrival gaps) comes from one of these, so the same
/// `--seed` gives the same requests at the same offsets on every machine and Swift version (bounded integers
/// and floats are derived here, not by the standard library's unspecified algorithms).
///
/// vLLM draws from numpy (`default_rng`, `np.random.gamma`) and Python's `random`: the distributions are
/// the same, the individual draws are not.
public struct BenchRandom: Sendable {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    public mutating func next() -> UInt64 {
        let result = rotate(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotate(state.3, 45)
        return result
    }

    private func rotate(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// Uniform in [0, 1), 53 random bits.
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Uniform in `range` (Lemire's multiply-and-reject: exact, no modulo bias).
    public mutating func int(in range: ClosedRange<Int>) -> Int {
        let span = UInt64(bitPattern: Int64(range.upperBound &- range.lowerBound)) &+ 1
        if span == 0 { return Int(bitPattern: UInt(next())) }  // the whole 64-bit range
        var product = next().multipliedFullWidth(by: span)
        if product.low < span {
            let threshold = (0 &- span) % span
            while product.low < threshold { product = next().multipliedFullWidth(by: span) }
        }
        return range.lowerBound &+ Int(product.high)
    }

    /// A standard normal draw (Marsaglia's polar method).
    public mutating func normal() -> Double {
        while true {
            let u = 2 * unit() - 1, v = 2 * unit() - 1
            let s = u * u + v * v
            if s > 0 && s < 1 { return u * (-2 * log(s) / s).squareRoot() }
        }
    }

    /// A Gamma(shape, scale) draw (Marsaglia and Tsang; shape < 1 by boosting to shape + 1). With shape 1 it
    /// is an exponential gap: arrivals of a Poisson process.
    public mutating func gamma(shape: Double, scale: Double) -> Double {
        precondition(shape > 0 && scale > 0)
        if shape < 1 {
            let boosted = gamma(shape: shape + 1, scale: scale)
            var u = unit()
            while u == 0 { u = unit() }
            return boosted * pow(u, 1 / shape)
        }
        let d = shape - 1.0 / 3.0, c = 1 / (9 * d).squareRoot()
        while true {
            var x: Double, v: Double
            repeat {
                x = normal()
                v = 1 + c * x
            } while v <= 0
            v = v * v * v
            let u = unit()
            if u < 1 - 0.0331 * x * x * x * x { return d * v * scale }
            if log(u) < 0.5 * x * x + d * (1 - v + log(v)) { return d * v * scale }
        }
    }

    /// Fisher–Yates, drawing from this generator.
    public mutating func shuffle<T>(_ items: inout [T]) {
        guard items.count > 1 else { return }
        for i in stride(from: items.count - 1, to: 0, by: -1) {
            items.swapAt(i, int(in: 0...i))
        }
    }
}
