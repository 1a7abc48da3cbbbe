import Testing
import VLLMCompute
@testable import VLLMCUDA

/// The host side of `upload`: float formats converted bit-exactly (expected bits from IEEE 754).
@Suite struct HostConversionTests {
    @Test func f32ToBF16AndF16() {
        let values: [Float] = [1, -2.5, 0.5]
        let bytes = values.withUnsafeBytes { CUDABackend.convert($0, from: .float32, range: 0..<3, to: .bfloat16) }
        #expect(bytes.withUnsafeBytes { Array($0.bindMemory(to: UInt16.self)) } == [0x3F80, 0xC020, 0x3F00])
        let half = values.withUnsafeBytes { CUDABackend.convert($0, from: .float32, range: 1..<3, to: .float16) }
        #expect(half.withUnsafeBytes { Array($0.bindMemory(to: UInt16.self)) } == [0xC100, 0x3800])
    }

    @Test func bf16ToF32() {
        let bits: [UInt16] = [0x3F80, 0xC020]
        let bytes = bits.withUnsafeBytes { CUDABackend.convert($0, from: .bfloat16, range: 0..<2, to: .float32) }
        #expect(bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) } == [1, -2.5])
    }
}
