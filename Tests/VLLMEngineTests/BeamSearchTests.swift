import Foundation
import Testing
import VLLMCPU
import VLLMCore
import VLLMEngine

/// Beam search (vLLM's `LLM.beam_search`) against transformers' `generate(num_beams=k)` where the two
/// scorings agree — a fixed output length with no EOS (goldens of scripts/make_beam_goldens.py) — and
/// vLLM's own rules where they differ (EOS, length normalization), checked on hand-made logprobs.
@Suite struct BeamSearchTests {
    struct Goldens: Decodable {
        struct Case: Decodable {
            struct Beam: Decodable { var token_ids: [Int]; var cumulative_logprob: Double }
            var model: String
            var prompt: [Int]
            var beam_width: Int
            var max_tokens: Int
            var length_penalty: Double
            var beams: [Beam]
        }
        var cases: [Case]
    }


    @Test func beamsEqualTransformersBeamSearch() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Goldens/beam_search.json")
        let goldens = try JSONDecoder().decode(Goldens.self, from: Data(contentsOf: url))
        for golden in goldens.cases {
            let folder: URL
            if golden.model == "stories260K" {
                guard let stories = EngineParityTests.stories260K else { continue }
                folder = stories
            } else {
                folder = EngineParityTests.goldens.appendingPathComponent(golden.model)
            }
            var args = EngineArgs(model: folder)
            args.blockSize = 4
            args.kvCacheMemory = 1 << 22
            let llm = try LLM(args: args, backend: CPUBackend())
            var params = BeamSearchParams(beamWidth: golden.beam_width, maxTokens: golden.max_tokens)
            params.ignoreEos = true
            params.lengthPenalty = golden.length_penalty
            let beams = try llm.beamSearch([golden.prompt], params: params)[0]
            let what = "\(golden.model) k=\(golden.beam_width) lp=\(golden.length_penalty)"
            #expect(beams.map { Array($0.tokens.dropFirst(golden.prompt.count)) } == golden.beams.map(\.token_ids), "\(what)")
            for (beam, expected) in zip(beams, golden.beams) {
                #expect(abs(beam.cumulativeLogprob - expected.cumulative_logprob) <= 1e-3 * max(1, abs(expected.cumulative_logprob)),
                        "\(what): cumulative logprob \(beam.cumulativeLogprob) vs \(expected.cumulative_logprob)")
                #expect(beam.finishReason == .length && beam.logprobs.count == golden.max_tokens)
            }
            // Every step's requests finished: nothing is left in the engine.
            let stats = llm.core.stats()
            #expect(stats.numRunning == 0 && stats.numWaiting == 0)
        }
    }

    /// vLLM's rules on hand-made logprobs: a candidate ending in EOS leaves the beams (completed, EOS out of
    /// its tokens unless include_stop_str_in_output); scores divide by (prompt + output length, less a final
    /// EOS) ^ length_penalty; the answer is the best of completed and live beams by that score.
    @Test func eosAndLengthPenaltyFollowVLLM() {
        let eos = 9
        var params = BeamSearchParams(beamWidth: 2, maxTokens: 2)
        params.lengthPenalty = 2
        var search = BeamSearch(promptTokenIds: [1, 2, 3], params: params, eosTokenId: eos)
        func logprobs(_ top: [(Int32, Float)]) -> TokenLogprobs {
            TokenLogprobs(sampledLogprob: top[0].1, sampledRank: 1, top: top)
        }
        // Step 1: EOS is the likeliest continuation; it completes, and the next two continue.
        search.advance([(eos, logprobs([(Int32(eos), -0.1), (4, -1.0), (5, -2.0), (6, -3.0)]))])
        #expect(search.completed.map(\.tokens) == [[1, 2, 3]])
        #expect(search.beams.map(\.tokens) == [[1, 2, 3, 4], [1, 2, 3, 5]])
        // Step 2.
        search.advance([(7, logprobs([(7, -0.5), (8, -0.6), (Int32(eos), -4.0), (6, -5.0)])),
                        (7, logprobs([(7, -0.1), (8, -0.2), (Int32(eos), -6.0), (6, -7.0)]))])
        #expect(search.isFinished)
        // Completed [1 2 3]+EOS: −0.1 / 3² (length 4, less the EOS); live [1 2 3 4 7]: −1.5 / 5², …
        let scores = search.result().map {
            BeamSearch.score(tokens: $0.tokens + ($0.finishReason == .stop ? [eos] : []), cumulativeLogprob: $0.cumulativeLogprob,
                             eosTokenId: eos, lengthPenalty: 2)
        }
        #expect(abs(BeamSearch.score(tokens: [1, 2, 3, eos], cumulativeLogprob: -0.1, eosTokenId: eos, lengthPenalty: 2) - (-0.1 / 9)) < 1e-12)
        #expect(abs(BeamSearch.score(tokens: [1, 2, 3, 4, 7], cumulativeLogprob: -1.5, eosTokenId: eos, lengthPenalty: 2) - (-1.5 / 25)) < 1e-12)
        #expect(search.result().map(\.tokens) == [[1, 2, 3], [1, 2, 3, 4, 7]])
        #expect(search.result().map(\.finishReason) == [.stop, .length])
        #expect(scores == scores.sorted(by: >))
        // include_stop_str_in_output keeps the EOS in the completed beam's tokens.
        params.includeStopStrInOutput = true
        var keeping = BeamSearch(promptTokenIds: [1, 2, 3], params: params, eosTokenId: eos)
        keeping.advance([(eos, logprobs([(Int32(eos), -0.1), (4, -1.0)]))])
        #expect(keeping.completed.map(\.tokens) == [[1, 2, 3, eos]])
    }
}
