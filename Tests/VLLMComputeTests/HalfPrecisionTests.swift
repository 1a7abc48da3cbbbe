import Testing
@testable import VLLMCompute

@Suite struct HalfPrecisionTests {
    @Test func bfloat16RoundTripsAndRoundsToNearestEven() {
        // 1 + 2^-8 lies halfway between two bf16 values; ties go to the even mantissa (1.0).
        #expect(HalfPrecision.float(fromBFloat16: HalfPrecision.bfloat16(from: 1 + 1.0 / 256)) == 1)
        #expect(HalfPrecision.float(fromBFloat16: HalfPrecision.bfloat16(from: 1 + 3.0 / 256)) == 1 + 4.0 / 256)
        // Values with at most 8 significant bits are exact in bf16.
        for v: Float in [0, 1, -2.5, 3.140625, 65280, -1.0 / 1024] {
            #expect(HalfPrecision.float(fromBFloat16: HalfPrecision.bfloat16(from: v)) == v)
        }
    }

    @Test func float16MatchesIEEE() {
        let cases: [(Float, UInt16)] = [(1, 0x3C00), (-2, 0xC000), (65504, 0x7BFF), (1e-7, 0x0002), (0.5, 0x3800), (100000, 0x7C00)]
        for (value, bits) in cases {
            #expect(HalfPrecision.float16(from: value) == bits, "\(value)")
        }
        #expect(HalfPrecision.float(fromFloat16: 0x3C00) == 1)
        #expect(HalfPrecision.float(fromFloat16: 0x0001) == Float(bitPattern: 0x3380_0000))
    }
}
