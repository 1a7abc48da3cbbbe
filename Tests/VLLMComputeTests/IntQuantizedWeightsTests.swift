import Testing
@testable import VLLMCompute

/// An 8-bit weight as two 4-bit planes (how the CUDA backend holds GPTQ 8-bit, W8A16 and INT8 W8A8): the planes'
/// halves add up to the weight — (h − z_h)·16s + (l − z_l)·s = (16h + l − z)·s — column by column, for groups, one
/// group a row, and act-order (the second half's groups follow the first's).
@Suite struct IntQuantizedWeightsTests {
    static func weight(n: Int, k: Int, groupSize: Int, actOrder: Bool, seed: UInt64) -> IntQuantizedWeights {
        var state = seed
        func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state >> 33 }
        var w = IntQuantizedWeights(n: n, k: k, bits: 8, groupSize: groupSize, scaleDType: .float32)
        for i in w.codes.indices { w.codes[i] = UInt8(next() % 256) }
        for i in w.scales.indices {
            w.scales[i] = Float(next() % 1000 + 1) / 65536  // few mantissa bits: every product below is exact
            w.zeros[i] = Int32(next() % 256)
        }
        if actOrder {
            var groups = (0..<k).map { $0 / groupSize }
            for i in stride(from: k - 1, to: 0, by: -1) { groups.swapAt(i, Int(next() % UInt64(i + 1))) }
            w.groupIndex = groups
        }
        return w
    }

    @Test(arguments: [(32, false), (32, true), (96, false)])
    func planesAddUpToTheWeight(groupSize: Int, actOrder: Bool) throws {
        let w = Self.weight(n: 5, k: 96, groupSize: groupSize, actOrder: actOrder, seed: UInt64(groupSize) &+ (actOrder ? 7 : 0))
        let planes = try #require(w.nibblePlanes())
        #expect(planes.bits == 4 && planes.k == 2 * w.k && planes.numGroups == 2 * w.numGroups)
        #expect(planes.codes.allSatisfy { $0 < 16 } && planes.zeros.allSatisfy { (0..<16).contains($0) })
        let (whole, split) = (w.dequantized(), planes.dequantized())
        for row in 0..<w.n {
            for col in 0..<w.k {
                #expect(split[row * 2 * w.k + col] + split[row * 2 * w.k + w.k + col] == whole[row * w.k + col])
            }
        }
    }

    @Test func onlyEightBitWeightsInWholeGroupsSplit() {
        var weight = IntQuantizedWeights(n: 2, k: 64, bits: 4, groupSize: 32, scaleDType: .float32)
        #expect(weight.nibblePlanes() == nil)
        weight = IntQuantizedWeights(n: 2, k: 80, bits: 8, groupSize: 32, scaleDType: .float32)  // 80 = 2.5 groups
        #expect(weight.nibblePlanes() == nil)
    }
}
