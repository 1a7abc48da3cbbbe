/// The two 8-bit float formats of FP8 checkpoints and the fp8 KV cache, as PyTorch's
/// `float8_e4m3fn` and `float8_e5m2` define them (OCP FP8): decoding is exact; encoding rounds to
/// nearest even and saturates to the largest finite value, as vLLM's conversions do
/// (`__NV_SATFINITE`) — a value out of range becomes ±448 (e4m3) or ±57344 (e5m2), never NaN.
public enum Float8Format: Sendable, Equatable {
    /// 4 exponent bits (bias 7), 3 mantissa bits, no infinities; 0x7F / 0xFF are NaN; max 448.
    case e4m3fn
    /// 5 exponent bits (bias 15), 2 mantissa bits: IEEE half's top byte; max finite 57344.
    case e5m2

    var mantissaBits: Int { self == .e4m3fn ? 3 : 2 }
    var bias: Int { self == .e4m3fn ? 7 : 15 }

    /// The largest finite value.
    public var maxFinite: Float { self == .e4m3fn ? 448 : 57344 }

    /// Bits → Float, exact.
    @inlinable
    public func decode(_ bits: UInt8) -> Float {
        self == .e4m3fn ? Float8Tables.e4m3fn[Int(bits)] : Float8Tables.e5m2[Int(bits)]
    }

    /// Float → bits: round to nearest even, saturating; NaN stays NaN.
    public func encode(_ value: Float) -> UInt8 {
        let sign: UInt8 = value.sign == .minus ? 0x80 : 0
        if value.isNaN { return self == .e4m3fn ? 0x7F : 0x7E }
        let magnitude = min(abs(value), maxFinite)
        let m = mantissaBits, minNormalExponent = 1 - bias
        var exponent = Int(magnitude.exponent)
        if magnitude == 0 || exponent < minNormalExponent { exponent = minNormalExponent }
        // The value's quantum is a power of two, so the division is exact and one rounding happens.
        let quantum = Float(sign: .plus, exponent: exponent - m, significand: 1)
        var units = Int((magnitude / quantum).rounded(.toNearestOrEven))
        if units >= 2 << m {  // rounded up into the next binade
            units >>= 1
            exponent += 1
        }
        if units < 1 << m { return sign | UInt8(units) }  // subnormal (or zero); 1 << m rounds into the first normal
        let code = (exponent + bias) << m | (units - (1 << m))
        return sign | UInt8(code)
    }
}

@usableFromInline
enum Float8Tables {
    @usableFromInline static let e4m3fn: [Float] = (0..<256).map { decodeSlowly(UInt8($0), exponentBits: 4, mantissaBits: 3, bias: 7, ieee: false) }
    @usableFromInline static let e5m2: [Float] = (0..<256).map { decodeSlowly(UInt8($0), exponentBits: 5, mantissaBits: 2, bias: 15, ieee: true) }

    static func decodeSlowly(_ bits: UInt8, exponentBits: Int, mantissaBits: Int, bias: Int, ieee: Bool) -> Float {
        let sign: Float = bits & 0x80 != 0 ? -1 : 1
        let exponentField = Int(bits >> mantissaBits) & ((1 << exponentBits) - 1)
        let mantissa = Int(bits) & ((1 << mantissaBits) - 1)
        let allOnes = (1 << exponentBits) - 1
        if ieee, exponentField == allOnes { return mantissa == 0 ? sign * .infinity : .nan }
        if !ieee, exponentField == allOnes, mantissa == (1 << mantissaBits) - 1 { return .nan }
        if exponentField == 0 {
            return sign * Float(mantissa) * Float(sign: .plus, exponent: 1 - bias - mantissaBits, significand: 1)
        }
        return sign * Float((1 << mantissaBits) + mantissa) * Float(sign: .plus, exponent: exponentField - bias - mantissaBits, significand: 1)
    }
}
