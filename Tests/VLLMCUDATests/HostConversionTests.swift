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

/// The 4-bit GEMM's token tiles for each decode step it takes: every token covered, by as few 64-token tiles as
/// hold them, each no wider than needed in steps of 8 (within the widths linear_int4.cu declares).
@Suite struct Int4GemmTileTests {
    @Test func tilesCoverEveryStepNarrowly() {
        for tokens in 1...1024 {
            let (width, tiles) = CUDABackend.int4GemmTile(tokens: tokens)
            #expect((4...8).contains(width) && tiles == (tokens + 63) / 64, "\(tokens)")
            #expect(tiles * 8 * width >= tokens, "\(tokens) tokens in \(tiles) × \(8 * width)")
            if width > 4 { #expect(tiles * 8 * (width - 1) < tokens, "\(tokens): width \(width) is wider than needed") }
        }
        #expect(CUDABackend.int4GemmSharedBytes(width: 8) == 98_304)
    }
}

/// linear_fp8_wgmma's tiles: the launcher's shared-memory sizes are the kernel's (linear_fp8_wgmma.cu's static_assert), and
/// the rule covers every step of 17–128 tokens it takes with whole tiles, none for cuBLASLt's (gate_up-wide past 64
/// tokens, everything past 128).
@Suite struct FP8WgmmaTileTests {
    @Test func tilesAndRule() throws {
        #expect(CUDABackend.FP8WgmmaTile(warpgroups: 1, tiles: 1).sharedBytes == 99_376)
        #expect(CUDABackend.FP8WgmmaTile(warpgroups: 2, tiles: 1).sharedBytes == 164_904)
        for tokens in 17...300 {
            for (columns, depth) in [(6144, 4096), (4096, 4096), (28672, 4096), (4096, 14336), (5120, 13824)] {
                guard let tile = CUDABackend.fp8WgmmaTile(tokens: tokens, columns: columns, depth: depth) else {
                    #expect(tokens > 128 || (tokens > 64 && columns >= 16384), "\(tokens) × \(columns) × \(depth)")
                    continue
                }
                #expect(tokens <= 128 && tile.tiles * tile.width >= tokens && (tile.tiles - 1) * tile.width < tokens,
                        "\(tokens) × \(columns) × \(depth): \(tile)")
            }
        }
        #expect(CUDABackend.fp8WgmmaTile(tokens: 100, columns: 4096, depth: 14336) == CUDABackend.FP8WgmmaTile(warpgroups: 2, tiles: 1))
        #expect(CUDABackend.fp8WgmmaTile(tokens: 100, columns: 6144, depth: 4096) == CUDABackend.FP8WgmmaTile(warpgroups: 1, tiles: 2))
        #expect(CUDABackend.fp8WgmmaTile(tokens: 200, columns: 4096, depth: 14336) == nil)
        #expect(CUDABackend.fp8WgmmaTile(tokens: 100, columns: 28672, depth: 4096) == nil)
    }
}
