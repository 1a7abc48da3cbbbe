import Testing
import VLLMCompute

/// The host form of fp8 weights that a GPU with FP8 kernels keeps (codes and a scale a row): stacking parts and
/// cutting tensor-parallel shards keeps every element's value — the dequantized parts, row for row and column for
/// column, which the CPU backend runs on (QuantizedParityTests checks those against the reference tools).
@Suite struct Float8WeightsTests {
    static func weights(n: Int, k: Int, seed: UInt64) -> Float8QuantizedWeights {
        var state = seed
        func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state >> 33 }
        let codes = (0..<n * k).map { _ in UInt8(truncatingIfNeeded: next()) & 0xFE }  // even codes: never NaN
        return Float8QuantizedWeights(n: n, k: k, codes: codes, scales: (0..<n).map { _ in Float(next() % 1000 + 1) * 1e-5 },
                                      scaleDType: .bfloat16)
    }

    @Test func stackedShardsKeepEveryValue() throws {
        let (q, k, v) = (Self.weights(n: 8, k: 32, seed: 1), Self.weights(n: 4, k: 32, seed: 2), Self.weights(n: 4, k: 32, seed: 3))
        let rows = 1 ..< 3, columns = 16 ..< 32
        let parts = [q, k, v].map { $0.slice(rows: rows, columns: columns) }
        let stacked = try #require(Float8QuantizedWeights.stacked(parts, padding: 2))
        #expect(stacked.n == 3 * rows.count + 2 && stacked.k == columns.count)
        let values = stacked.dequantized()
        for (index, part) in [q, k, v].enumerated() {
            let whole = part.dequantized()
            for (r, row) in rows.enumerated() {
                let expected = Array(whole[row * 32 + columns.lowerBound ..< row * 32 + columns.upperBound])
                let start = (index * rows.count + r) * columns.count
                #expect(Array(values[start ..< start + columns.count]) == expected)
            }
        }
        #expect(values.suffix(2 * columns.count).allSatisfy { $0 == 0 })  // the padding rows
    }

    @Test func blockScaledPartsDoNotStack() {
        let block = Float8QuantizedWeights(n: 4, k: 4, codes: [UInt8](repeating: 0x38, count: 16), scales: [2], scaleDType: .float32,
                                           blockSize: (128, 128))
        #expect(block.dequantized().allSatisfy { $0 == 2 })  // 0x38 is 1.0 in e4m3
        #expect(Float8QuantizedWeights.stacked([block]) == nil)
    }
}
