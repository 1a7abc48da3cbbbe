import VLLMCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// vLLM's `BeamSearchParams`: `n` beams kept, `maxTokens` steps.
public struct BeamSearchParams: Sendable, Equatable {
    public var beamWidth: Int
    public var maxTokens: Int
    public var ignoreEos = false
    public var temperature: Float = 0
    /// Scores are `cumulative logprob / (prompt + output length) ^ lengthPenalty`.
    public var lengthPenalty: Double = 1
    public var includeStopStrInOutput = false

    public init(beamWidth: Int, maxTokens: Int) {
        self.beamWidth = beamWidth
        self.maxTokens = maxTokens
    }
}

/// One beam: vLLM's `BeamSearchSequence`.
public struct BeamSearchSequence: Sendable {
    /// Prompt and output tokens.
    public var tokens: [Int]
    /// Per output token, the logprobs its step returned (the chosen token's and the top ones).
    public var logprobs: [TokenLogprobs]
    public var cumulativeLogprob: Double
    public var finishReason: FinishReason?
    public var stopReason: StopReason?
}

/// vLLM's beam search (`LLM.beam_search`, `OpenAIServing.beam_search`) as a value the caller drives:
/// each step every live beam is one engine request for a single token with `2 · beamWidth` logprobs (its
/// tokens as the prompt, so beams share their common prefix's KV blocks through prefix caching); the
/// `beamWidth · 2 · beamWidth` candidates are sorted by score and the best `beamWidth` continue. A
/// candidate ending in EOS (unless `ignoreEos`) is completed instead. After `maxTokens` steps the live
/// beams join the completed ones and the best `beamWidth` of all are the answer.
public struct BeamSearch: Sendable {
    public let params: BeamSearchParams
    public let promptLength: Int
    let eosTokenId: Int?
    public private(set) var beams: [BeamSearchSequence]
    public private(set) var completed: [BeamSearchSequence] = []
    public private(set) var numSteps = 0

    public init(promptTokenIds: [Int], params: BeamSearchParams, eosTokenId: Int?) {
        self.params = params
        promptLength = promptTokenIds.count
        self.eosTokenId = eosTokenId
        beams = [BeamSearchSequence(tokens: promptTokenIds, logprobs: [], cumulativeLogprob: 0)]
    }

    /// vLLM's `get_beam_search_score`: the sequence's length counts the prompt, less a final EOS.
    public static func score(tokens: [Int], cumulativeLogprob: Double, eosTokenId: Int?, lengthPenalty: Double) -> Double {
        var length = tokens.count
        if let eosTokenId, tokens.last == eosTokenId { length -= 1 }
        return cumulativeLogprob / pow(Double(length), lengthPenalty)
    }

    func score(_ beam: BeamSearchSequence) -> Double {
        Self.score(tokens: beam.tokens, cumulativeLogprob: beam.cumulativeLogprob, eosTokenId: eosTokenId,
                   lengthPenalty: params.lengthPenalty)
    }

    public var isFinished: Bool { numSteps >= params.maxTokens || beams.isEmpty }

    /// What each beam's request of this step asks for: one token, `2 · beamWidth` logprobs.
    public var stepParams: SamplingParams {
        var p = SamplingParams()
        p.temperature = params.temperature
        p.maxTokens = 1
        p.logprobs = 2 * params.beamWidth
        p.ignoreEos = true  // the token is one candidate among the logprobs; EOS is judged here
        p.detokenize = false
        return p
    }

    /// Takes the step's result for every live beam, in `beams` order: the sampled token and its logprobs.
    public mutating func advance(_ results: [(tokenId: Int, logprobs: TokenLogprobs)]) {
        precondition(results.count == beams.count, "one result per live beam")
        var candidates: [BeamSearchSequence] = []
        for (beam, result) in zip(beams, results) {
            // vLLM's logprobs dict: the top entries and the sampled token, each once.
            var entries = result.logprobs.top.map { (Int($0.tokenId), Double($0.logprob)) }
            if !entries.contains(where: { $0.0 == result.tokenId }) {
                entries.append((result.tokenId, Double(result.logprobs.sampledLogprob)))
            }
            for (rank, (token, logprob)) in entries.enumerated() {
                var next = beam
                // The step's logprobs, as seen from the token this beam took (its logprob and rank).
                let isSampled = rank == result.logprobs.top.count
                next.logprobs.append(TokenLogprobs(sampledLogprob: Float(logprob), sampledRank: isSampled ? result.logprobs.sampledRank : rank + 1,
                                                   top: result.logprobs.top))
                next.cumulativeLogprob += logprob
                if token == eosTokenId && !params.ignoreEos {
                    if params.includeStopStrInOutput { next.tokens.append(token) }
                    next.finishReason = .stop
                    completed.append(next)
                } else {
                    next.tokens.append(token)
                    candidates.append(next)
                }
            }
        }
        beams = best(candidates)
        numSteps += 1
    }

    /// The best `beamWidth` of the completed and the live beams, best first; those that ran out of steps
    /// finish with `length`.
    public func result() -> [BeamSearchSequence] {
        let all = completed + beams.map { beam -> BeamSearchSequence in
            var beam = beam
            if beam.finishReason == nil { beam.finishReason = .length }
            return beam
        }
        return best(all)
    }

    /// The best `beamWidth` of `sequences` by score, best first; a stable sort, so equal scores keep their
    /// order (the beams', then the logprobs'), as Python's `sorted` does in vLLM.
    func best(_ sequences: [BeamSearchSequence]) -> [BeamSearchSequence] {
        let scored = sequences.enumerated().map { (score: score($0.element), offset: $0.offset, sequence: $0.element) }
        return scored.sorted { $0.score != $1.score ? $0.score > $1.score : $0.offset < $1.offset }
            .prefix(params.beamWidth).map(\.sequence)
    }
}

extension EngineClient {
    /// Beam search over an online engine: each step's beams run as concurrent requests
    /// (`requestId-step-beam`), so other requests keep being served between and beside them. Returns the
    /// best `beamWidth` sequences, best first. `lora`: the adapter every beam runs with (nil: the base model).
    public func beamSearch(requestId: String, promptTokenIds: [Int], params: BeamSearchParams, eosTokenId: Int?,
                           lora: LoRARequest? = nil) async throws -> [BeamSearchSequence] {
        var search = BeamSearch(promptTokenIds: promptTokenIds, params: params, eosTokenId: eosTokenId)
        while !search.isFinished {
            let stepParams = search.stepParams
            let streams = try search.beams.enumerated().map { index, beam in
                try generate(requestId: "\(requestId)-\(search.numSteps)-\(index)", promptTokenIds: beam.tokens, params: stepParams,
                             lora: lora)
            }
            var results: [(tokenId: Int, logprobs: TokenLogprobs)] = []
            for stream in streams {
                var last: RequestOutput?
                for try await output in stream { last = output }
                guard let sequence = last?.outputs.first, let token = sequence.tokenIds.first, let logprobs = sequence.logprobs?.first
                else { throw EngineUnavailableError("beam search: a step's request ended without a token") }
                results.append((token, logprobs))
            }
            search.advance(results)
        }
        return search.result()
    }
}
