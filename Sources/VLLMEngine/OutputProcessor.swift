import VLLMCompute
import VLLMCore

/// Streams text for one sequence: the engine's view of an incremental detokenizer.
public protocol StreamingDetokenizer: Sendable {
    /// Appends a generated token; returns the text that became final with it.
    mutating func append(_ tokenId: Int) -> String
    /// The text still held back when the sequence ends (an incomplete character).
    mutating func finish() -> String
}

/// The engine's view of a tokenizer: a streaming detokenizer per sequence, and each id's bytes for
/// structured outputs' grammars (a tokenizer conforms; `nil` means token ids only).
public protocol DetokenizerFactory: Sendable {
    func makeDetokenizer(promptTokenIds: [Int], skipSpecialTokens: Bool, spacesBetweenSpecialTokens: Bool) -> any StreamingDetokenizer
    /// Every id's bytes as the token contributes them inside a text; nil for an id without any. Empty
    /// where unknown: structured outputs are then refused.
    func tokenBytes() -> [[UInt8]?]
}

extension DetokenizerFactory {
    public func tokenBytes() -> [[UInt8]?] { [] }
}

/// Turns EngineCoreOutputs into RequestOutputs: incremental detokenization, stop strings
/// (spanning token boundaries, held back until certain), logprobs, and the `n` sequences of a
/// request gathered under their parent (vLLM's OutputProcessor).
public struct OutputProcessor: Sendable {
    struct SequenceState {
        var index: Int
        var tokenIds: [Int] = []
        /// Full text so far (cut at a stop string once found).
        var text = ""
        /// Scalars of `text` already sent.
        var numEmittedScalars = 0
        var logprobs: [TokenLogprobs] = []
        var detokenizer: (any StreamingDetokenizer)?
        var finishReason: FinishReason?
        var stopReason: StopReason?
    }

    struct RequestState {
        var promptTokenIds: [Int]
        var params: SamplingParams
        var stopChecker: StopChecker
        var sequences: [SequenceState]
        var metrics: RequestMetrics
        var numCachedTokens = 0
        var promptLogprobs: [TokenLogprobs?] = []
    }

    let detokenizerFactory: (any DetokenizerFactory)?
    private var requests: [String: RequestState] = [:]

    public init(detokenizerFactory: (any DetokenizerFactory)?) {
        self.detokenizerFactory = detokenizerFactory
    }

    /// The engine-side id of sequence `index` of request `requestId`.
    public static func childId(_ requestId: String, _ index: Int, n: Int) -> String {
        n == 1 ? requestId : "\(index)_\(requestId)"
    }

    /// Starts tracking a request; returns the child requests to hand to the engine.
    /// `drawnSeeds[i]` seeds sequence `i` when the request has no seed of its own.
    public mutating func addRequest(requestId: String, promptTokenIds: [Int], params: SamplingParams, eosTokenId: Int?,
                                    arrivalTime: Double, drawnSeeds: [UInt64], lora: LoRARequest? = nil) -> [Request] {
        let detokenize = params.detokenize
        let sequences = (0..<params.n).map { index in
            SequenceState(index: index, detokenizer: detokenize ? detokenizerFactory?.makeDetokenizer(
                promptTokenIds: promptTokenIds, skipSpecialTokens: params.skipSpecialTokens,
                spacesBetweenSpecialTokens: params.spacesBetweenSpecialTokens) : nil)
        }
        requests[requestId] = RequestState(
            promptTokenIds: promptTokenIds, params: params,
            stopChecker: StopChecker(stop: params.stop, includeStopStrInOutput: params.includeStopStrInOutput),
            sequences: sequences, metrics: RequestMetrics(arrivalTime: arrivalTime),
            promptLogprobs: params.promptLogprobs == nil ? [] : Array(repeating: nil, count: promptTokenIds.count))
        return (0..<params.n).map { index in
            var child = params
            // Each of n sequences samples on its own: a seeded request gets a distinct seed per sequence.
            if let seed = params.seed, params.n > 1 { child.seed = seed &+ index }
            child.n = 1
            return Request(requestId: Self.childId(requestId, index, n: params.n), promptTokenIds: promptTokenIds,
                           samplingParams: child, eosTokenId: eosTokenId, arrivalTime: arrivalTime,
                           drawnSeed: drawnSeeds[index], lora: lora)
        }
    }

    /// Child ids of a request still tracked (for abort).
    public func childIds(of requestId: String) -> [String] {
        guard let state = requests[requestId] else { return [] }
        return state.sequences.filter { $0.finishReason == nil }.map { Self.childId(requestId, $0.index, n: state.params.n) }
    }

    /// What one engine step produced. Returns the RequestOutputs to deliver and the child requests
    /// that hit a stop string (the caller finishes them in the engine so their blocks are freed).
    public mutating func process(_ outputs: [(output: EngineCoreOutput, logprobs: TokenLogprobs?)], now: Double)
        -> (outputs: [RequestOutput], stoppedByString: [(childId: String, stop: String)]) {
        var changed: [String: [Int: (text: String, tokens: [Int], logprobs: [TokenLogprobs])]] = [:]
        var stopped: [(String, String)] = []
        for (output, logprobs) in outputs {
            let (parentId, index) = parent(of: output.requestId)
            guard var state = requests[parentId], state.sequences[index].finishReason == nil else { continue }
            if state.metrics.firstTokenTime == nil {
                state.metrics.firstTokenTime = now
                state.numCachedTokens = output.numCachedTokens
            }
            state.metrics.lastTokenTime = now
            var seq = state.sequences[index]
            var deltaText = ""
            for (position, token) in output.newTokenIds.enumerated() {
                seq.tokenIds.append(token)
                if let lp = logprobs { seq.logprobs.append(lp) }
                // vLLM leaves the EOS / stop token out of the text (it is still in token_ids). Only a step's last token
                // can be one (a step of accepted draft tokens ends at its first stop).
                let isLast = position == output.newTokenIds.count - 1
                let isStopToken = isLast && (output.finishReason == .stop && output.stopReason == nil || output.stopReason == .tokenId(token))
                let piece = seq.detokenizer.map { _ in seq.detokenizer!.append(token) } ?? ""
                if !isStopToken || state.params.includeStopStrInOutput { deltaText += piece }
            }
            if output.finishReason != nil, seq.detokenizer != nil { deltaText += seq.detokenizer!.finish() }
            var finishReason = output.finishReason, stopReason = output.stopReason
            let check = state.stopChecker.check(text: seq.text, delta: deltaText, isFinished: finishReason != nil)
            seq.text = check.text
            if let stop = check.stopString, finishReason == nil || stopReason == nil {
                finishReason = .stop
                stopReason = .string(stop)
                stopped.append((output.requestId, stop))
            }
            seq.finishReason = finishReason
            seq.stopReason = stopReason
            let total = seq.text.unicodeScalars.count
            let emit = finishReason != nil ? total : total - check.numHeldBackScalars
            let delta = String(String.UnicodeScalarView(seq.text.unicodeScalars.dropFirst(seq.numEmittedScalars).prefix(emit - seq.numEmittedScalars)))
            seq.numEmittedScalars = max(seq.numEmittedScalars, emit)
            changed[parentId, default: [:]][index] = (delta, output.newTokenIds, logprobs.map { [$0] } ?? [])
            state.sequences[index] = seq
            requests[parentId] = state
        }
        var results: [RequestOutput] = []
        for (parentId, deltas) in changed {
            guard var state = requests[parentId] else { continue }
            let isFinished = state.sequences.allSatisfy { $0.finishReason != nil }
            if isFinished { state.metrics.finishedTime = now }
            results.append(makeOutput(parentId, state, deltas: deltas, isFinished: isFinished))
            requests[parentId] = isFinished ? nil : state
        }
        return (results, stopped)
    }

    /// Ends a request (abort): its final RequestOutput with finish reason `abort` on every open sequence.
    public mutating func abort(requestId: String, now: Double) -> RequestOutput? {
        guard var state = requests.removeValue(forKey: requestId) else { return nil }
        for i in state.sequences.indices where state.sequences[i].finishReason == nil {
            state.sequences[i].finishReason = .abort
        }
        state.metrics.finishedTime = now
        return makeOutput(requestId, state, deltas: [:], isFinished: true)
    }

    /// Prompt logprobs of positions `start ..< start + values.count`, from any sequence of the request
    /// (all compute the same; a preempted one computes them again).
    public mutating func addPromptLogprobs(_ childId: String, start: Int, values: [TokenLogprobs]) {
        let (parentId, _) = parent(of: childId)
        guard var state = requests[parentId], start + values.count <= state.promptLogprobs.count else { return }
        for (i, value) in values.enumerated() { state.promptLogprobs[start + i] = value }
        requests[parentId] = state
    }

    /// Marks the first time any sequence of the request was scheduled.
    public mutating func markScheduled(_ childId: String, now: Double) {
        let (parentId, _) = parent(of: childId)
        if requests[parentId]?.metrics.firstScheduledTime == nil { requests[parentId]?.metrics.firstScheduledTime = now }
    }

    private func parent(of childId: String) -> (String, Int) {
        if requests[childId] != nil { return (childId, 0) }
        guard let underscore = childId.firstIndex(of: "_"), let index = Int(childId[..<underscore]) else { return (childId, 0) }
        return (String(childId[childId.index(after: underscore)...]), index)
    }

    private func makeOutput(_ id: String, _ state: RequestState, deltas: [Int: (text: String, tokens: [Int], logprobs: [TokenLogprobs])],
                            isFinished: Bool) -> RequestOutput {
        let wantsLogprobs = state.params.logprobs != nil
        let outputs = state.sequences.map { seq in
            let delta = deltas[seq.index]
            let text = String(String.UnicodeScalarView(seq.text.unicodeScalars.prefix(seq.numEmittedScalars)))
            return CompletionOutput(index: seq.index, text: text, tokenIds: seq.tokenIds, deltaText: delta?.text ?? "",
                                    deltaTokenIds: delta?.tokens ?? [], logprobs: wantsLogprobs ? seq.logprobs : nil,
                                    deltaLogprobs: wantsLogprobs ? (delta?.logprobs ?? []) : nil,
                                    finishReason: seq.finishReason, stopReason: seq.stopReason)
        }
        var output = RequestOutput(requestId: id, promptTokenIds: state.promptTokenIds, outputs: outputs, isFinished: isFinished,
                                   metrics: state.metrics, numCachedTokens: state.numCachedTokens)
        if state.params.promptLogprobs != nil { output.promptLogprobs = state.promptLogprobs }
        return output
    }
}
