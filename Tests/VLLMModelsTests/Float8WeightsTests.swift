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
        let parts = try [q, k, v].map { try #require($0.slice(rows: rows, columns: columns)) }
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

    /// Block-scaled parts (2 × 8 blocks) cut on their blocks' edges and stacked keep every value too; a cut inside a
    /// block, or a part ending inside one before another, gives nil (the loader then takes the dequantized values).
    @Test func blockScaledShardsKeepEveryValue() throws {
        func blocks(n: Int, seed: UInt64) -> Float8QuantizedWeights {
            let plain = Self.weights(n: n, k: 32, seed: seed)
            let scales = (0..<((n + 1) / 2) * 4).map { Float($0 + 1) * 1e-3 }
            return Float8QuantizedWeights(n: n, k: 32, codes: plain.codes, scales: scales, scaleDType: .float32, blockSize: (2, 8))
        }
        let (q, k, v) = (blocks(n: 8, seed: 1), blocks(n: 4, seed: 2), blocks(n: 5, seed: 3))
        #expect(blocks(n: 4, seed: 4).dequantized()[9] == Float8Format.e4m3fn.decode(blocks(n: 4, seed: 4).codes[9]) * 2e-3)
        let columns = 16 ..< 32
        let cuts = [(q, 2 ..< 6), (k, 0 ..< 4), (v, 4 ..< 5)]  // v's last row: a partial block, last
        let parts = try cuts.map { try #require($0.0.slice(rows: $0.1, columns: columns)) }
        let stacked = try #require(Float8QuantizedWeights.stacked(parts, padding: 3))
        #expect(stacked.n == 4 + 4 + 1 + 3 && stacked.k == columns.count && stacked.scales.count == 6 * 2)
        let values = stacked.dequantized()
        var start = 0
        for (part, rows) in cuts {
            let whole = part.dequantized()
            for row in rows {
                #expect(Array(values[start ..< start + columns.count]) == Array(whole[row * 32 + columns.lowerBound ..< row * 32 + columns.upperBound]))
                start += columns.count
            }
        }
        #expect(values.suffix(3 * columns.count).allSatisfy { $0 == 0 })  // the padding rows
        #expect(q.slice(rows: 1 ..< 3, columns: 0 ..< 32) == nil && q.slice(rows: 0 ..< 8, columns: 4 ..< 32) == nil)
        #expect(Float8QuantizedWeights.stacked([v, k]) == nil)  // v ends inside a block
    }
}
