import Foundation
import Testing
import VLLMCompute

@testable import VLLMCPU

/// The CPU sampler against PyTorch following vLLM's sampler (goldens from
/// scripts/make_sampler_goldens.py) and against a plain sorting-based reference written here.
@Suite struct CPUSamplerTests {
    struct Golden: Decodable {
        struct Case: Decodable {
            var logits: [Float]
            var logSoftmax: [Float]
            var top5: [Int]
            var promptTokenIds: [Int32]
            var outputTokenIds: [Int32]
            var repetitionPenalty: Float
            var frequencyPenalty: Float
            var presencePenalty: Float
            var penalizedLogits: [Float]
            var temperature: Float
            var minP: Float
            var topK: Int?
            var topP: Float
            var probabilities: [Float]
        }
        var vocabSize: Int
        var cases: [Case]
    }

    static let golden: Golden = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "Goldens/sampler.json")
        // The file is committed beside this test; a missing or bad one is a broken checkout.
        return try! JSONDecoder().decode(Golden.self, from: Data(contentsOf: url))
    }()

    func row(for c: Golden.Case, seed: UInt64 = 7, step: Int = 0) -> SamplingRow {
        var row = SamplingRow()
        row.temperature = c.temperature
        row.minP = c.minP
        row.topK = c.topK
        row.topP = c.topP
        row.repetitionPenalty = c.repetitionPenalty
        row.frequencyPenalty = c.frequencyPenalty
        row.presencePenalty = c.presencePenalty
        row.promptTokenIds = c.promptTokenIds
        row.outputTokenIds = c.outputTokenIds
        row.seed = seed
        row.step = step
        return row
    }

    func sample(_ logits: [[Float]], _ rows: [SamplingRow]) -> SamplerOutput {
        let flat = logits.flatMap { $0 }
        return flat.withUnsafeBufferPointer { CPUSampler.sample(logits: $0, vocabSize: logits[0].count, rows: rows) }
    }

    @Test func logprobsAreLogSoftmaxOfTheRawLogits() throws {
        for c in Self.golden.cases {
            var r = row(for: c)
            r.numLogprobs = 5
            let output = sample([c.logits], [r])
            let logprobs = try #require(output.logprobs[0])
            #expect(logprobs.top.map { Int($0.tokenId) } == c.top5)
            for (id, value) in logprobs.top { #expect(abs(value - c.logSoftmax[Int(id)]) < 1e-5) }
            let sampled = Int(output.tokenIds[0])
            #expect(abs(logprobs.sampledLogprob - c.logSoftmax[sampled]) < 1e-5)
            #expect(logprobs.sampledRank == c.logSoftmax.filter { $0 >= c.logSoftmax[sampled] }.count)
        }
    }

    @Test func penaltiesMatchVLLMFormulas() {
        for c in Self.golden.cases {
            let penalized = CPUSampler.processedLogits(c.logits, row(for: c))
            for (got, want) in zip(penalized, c.penalizedLogits) { #expect(abs(got - want) < 1e-5) }
        }
    }

    @Test func minPTopKTopPKeepWhatVLLMKeeps() {
        for (index, c) in Self.golden.cases.enumerated() {
            let probs = CPUSampler.filteredProbabilities(c.penalizedLogits, row(for: c))
            #expect(probs.map { $0 > 0 } == c.probabilities.map { $0 > 0 }, "case \(index)")
            let total = probs.reduce(0, +)
            for (got, want) in zip(probs, c.probabilities) { #expect(abs(got / total - want) < 1e-5, "case \(index)") }
        }
    }

    @Test func drawsFollowTheFilteredDistribution() {
        // Case 2: top-p 0.8 leaves 4 tokens; 20 000 draws over steps land near their probabilities.
        let c = Self.golden.cases[2]
        var counts = [Int](repeating: 0, count: Self.golden.vocabSize)
        let numDraws = 20_000
        for step in 0..<numDraws {
            counts[sample([c.logits], [row(for: c, seed: 42, step: step)]).tokenIds.map(Int.init)[0]] += 1
        }
        for (id, p) in c.probabilities.enumerated() {
            let frequency = Double(counts[id]) / Double(numDraws)
            // 5 standard deviations of a binomial frequency.
            #expect(
                abs(frequency - Double(p)) <= 5 * (Double(p) * (1 - Double(p)) / Double(numDraws)).squareRoot() + 1e-9,
                "token \(id)")
        }
    }

    @Test func matchesThePlainReferenceOnRandomRows() {
        var rng = TestRandom(seed: 99)
        for trial in 0..<300 {
            let vocabSize = [5, 17, 64][trial % 3]
            let logits = (0..<vocabSize).map { _ in Float(rng.normal() * 3) }
            var r = SamplingRow()
            r.temperature = [0, 0.5, 1, 1.7][rng.int(4)]
            r.topK = [nil, 1, 3, 10][rng.int(4)]
            r.topP = [1, 0.9, 0.5, 0.05][rng.int(4)]
            r.minP = [0, 0.05, 0.3][rng.int(3)]
            r.repetitionPenalty = [1, 1.2, 0.9][rng.int(3)]
            r.frequencyPenalty = [0, 0.5, -0.3][rng.int(3)]
            r.presencePenalty = [0, 0.8][rng.int(2)]
            r.promptTokenIds = (0..<rng.int(6)).map { _ in Int32(rng.int(vocabSize)) }
            r.outputTokenIds = (0..<rng.int(6)).map { _ in Int32(rng.int(vocabSize)) }
            if rng.int(4) == 0 { r.bannedTokenIds = [Int32(rng.int(vocabSize))] }
            if rng.int(4) == 0 { r.logitBias = [Int32(rng.int(vocabSize)): 5] }
            if rng.int(5) == 0 { r.allowedTokenIds = (0..<3).map { _ in Int32(rng.int(vocabSize)) } }
            r.seed = UInt64(trial)
            r.step = rng.int(100)
            let got = sample([logits], [r]).tokenIds[0]
            #expect(Int(got) == ReferenceSampler.sample(logits, r), "trial \(trial): \(r)")
        }
    }

    @Test func seededRowsAreTheSameWhateverTheBatch() {
        var rng = TestRandom(seed: 5)
        let vocabSize = 50
        let rows: [[Float]] = (0..<4).map { _ in (0..<vocabSize).map { _ in Float(rng.normal() * 2) } }
        var params: [SamplingRow] = (0..<4).map { i in
            var r = SamplingRow()
            r.seed = UInt64(100 + i)
            r.step = 3
            r.topP = 0.9
            r.numLogprobs = 2
            return r
        }
        params[1].temperature = 0
        let alone = (0..<4).map { sample([rows[$0]], [params[$0]]) }
        let together = sample(rows, params)
        let reversed = sample(rows.reversed(), params.reversed())
        let padded = sample([rows[3], rows[2], rows[2]], [params[0], params[2], params[2]])
        for i in 0..<4 {
            #expect(together.tokenIds[i] == alone[i].tokenIds[0])
            #expect(together.logprobs[i] == alone[i].logprobs[0])
            #expect(reversed.tokenIds[3 - i] == alone[i].tokenIds[0])
        }
        #expect(padded.tokenIds[1] == alone[2].tokenIds[0] && padded.tokenIds[2] == alone[2].tokenIds[0])
    }

    @Test func greedyTakesTheLowestIdAmongTies() {
        var r = SamplingRow()
        r.temperature = 0
        r.topK = 1
        #expect(sample([[1, 3, 3, 2]], [r]).tokenIds == [1])
        #expect(sample([[-.infinity, -.infinity, 0.5, 0.5]], [r]).tokenIds == [2])
        // Top-k 1 at any temperature is greedy too.
        var k1 = SamplingRow()
        k1.topK = 1
        #expect(sample([[1, 3, 3, 2]], [k1]).tokenIds == [1])
    }

    @Test func allowedBannedAndBias() {
        var r = SamplingRow()
        r.temperature = 0
        r.allowedTokenIds = [0, 3]
        #expect(sample([[0, 9, 9, 1]], [r]).tokenIds == [3])
        r.bannedTokenIds = [3]
        #expect(sample([[0, 9, 9, 1]], [r]).tokenIds == [0])
        r = SamplingRow()
        r.temperature = 0
        r.logitBias = [0: 100]
        #expect(sample([[0, 9, 9, 1]], [r]).tokenIds == [0])
        // Everything banned: token 0, not a crash.
        r = SamplingRow()
        r.bannedTokenIds = [0, 1, 2]
        #expect(sample([[1, 2, 3]], [r]).tokenIds == [0])
    }

    @Test func topIndicesAgreeWithAFullSort() {
        var rng = TestRandom(seed: 11)
        let values = (0..<300).map { _ in Float(rng.int(40)) }  // many ties
        let sorted = values.indices.sorted { values[$0] != values[$1] ? values[$0] > values[$1] : $0 < $1 }
        for count in [0, 1, 2, 5, 20, 64, 65, 300] {
            #expect(TokenLogprobs.topIndices(values, count: count) == Array(sorted.prefix(count)))
        }
    }

    @Test func logprobsCountsAndRanks() throws {
        var r = SamplingRow()
        r.temperature = 0
        r.numLogprobs = 0
        let none = try #require(sample([[1, 3, 3, 2]], [r]).logprobs[0])
        #expect(none.top.isEmpty)
        // Both tied tokens have logprob ≥ the sampled one's: rank 2, as vLLM counts.
        #expect(none.sampledRank == 2)
        r.numLogprobs = -1
        let all = try #require(sample([[1, 3, 3, 2]], [r]).logprobs[0])
        #expect(all.top.map(\.tokenId) == [1, 2, 3, 0])
        r.numLogprobs = nil
        #expect(sample([[1, 3, 3, 2]], [r]).logprobs == [nil])
    }
}

/// A second, deliberately plain sampler: sort everything, filter by the definitions, draw.
enum ReferenceSampler {
    static func sample(_ raw: [Float], _ row: SamplingRow) -> Int {
        let vocabSize = raw.count
        var logits = raw.map(Double.init)
        if let allowed = row.allowedTokenIds {
            for i in 0..<vocabSize where !allowed.contains(Int32(i)) { logits[i] = -.infinity }
        }
        for id in row.bannedTokenIds { logits[Int(id)] = -.infinity }
        for (id, bias) in row.logitBias { logits[Int(id)] += Double(bias) }
        let seen = Set(row.promptTokenIds + row.outputTokenIds)
        for id in seen {
            let r = Double(row.repetitionPenalty)
            logits[Int(id)] = logits[Int(id)] > 0 ? logits[Int(id)] / r : logits[Int(id)] * r
        }
        for id in Set(row.outputTokenIds) {
            let count = Double(row.outputTokenIds.filter { $0 == id }.count)
            logits[Int(id)] -= Double(row.frequencyPenalty) * count + Double(row.presencePenalty)
        }
        // Most likely first, ties by lower id.
        let order = (0..<vocabSize).sorted { logits[$0] != logits[$1] ? logits[$0] > logits[$1] : $0 < $1 }
        if row.temperature < 1e-5 { return order[0] }

        let scaled = logits.map { $0 / Double(row.temperature) }
        let maximum = scaled.max()!
        let exps = scaled.map { Foundation.exp($0 - maximum) }
        let total = exps.reduce(0, +)
        var candidates = order.filter { exps[$0] > 0 }.map { (id: $0, p: exps[$0] / total) }
        if candidates.isEmpty { return 0 }
        let maxP = candidates[0].p
        candidates = candidates.filter { $0.p >= Double(row.minP) * maxP }
        if let k = row.topK { candidates = Array(candidates.prefix(k)) }
        if row.topP < 1 {
            let mass = candidates.reduce(0) { $0 + $1.p }
            var cumulative = 0.0
            var kept: [(id: Int, p: Double)] = []
            for c in candidates {
                kept.append(c)
                cumulative += c.p / mass
                if cumulative >= Double(row.topP) { break }
            }
            candidates = kept
        }
        // The lowest id among the largest p / q.
        var best: (id: Int, score: Double)? = nil
        for c in candidates.sorted(by: { $0.id < $1.id }) {
            let u = Double(SamplingRandom.uniform(seed: row.seed, step: row.step, token: c.id))
            let score = c.p / -Foundation.log(u)
            if best == nil || score > best!.score { best = (c.id, score) }
        }
        return best!.id
    }
}

/// SplitMix64 for test inputs.
struct TestRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func int(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
    mutating func uniform() -> Double { (Double(next() >> 11) + 0.5) / 9_007_199_254_740_992 }
    mutating func normal() -> Double {
        (-2 * Foundation.log(uniform())).squareRoot() * Foundation.cos(2 * Double.pi * uniform())
    }
}
