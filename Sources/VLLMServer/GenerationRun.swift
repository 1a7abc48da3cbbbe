import Foundation
import VLLMCore
import VLLMEngine

/// The engine requests one HTTP request submitted (one per prompt), read together.
///
/// Whatever ends the reading early — the client gone, the task cancelled, an error — aborts every
/// request not yet finished, so its KV blocks are freed at once; their sequences count as
/// `abort` in the metrics.
struct GenerationRun: Sendable {
    struct Submitted: Sendable {
        var requestId: String
        var promptTokenIds: [Int]
        var stream: AsyncThrowingStream<RequestOutput, Error>
        var numSequences: Int
    }

    let engine: any EngineClient
    let metrics: ServerMetrics
    let submitted: [Submitted]
    /// Counts the run's requests as in flight (for `vllm:lora_requests_info`) until the run is released.
    let inFlight: InFlight

    /// Counts `count` requests of `adapter` in flight from submission until released — after the last output was
    /// read, or with a stream its client never read — so no path can leave a request counted.
    final class InFlight: Sendable {
        let metrics: ServerMetrics
        let adapter: String?
        let count: Int

        init(metrics: ServerMetrics, adapter: String?, count: Int) {
            self.metrics = metrics
            self.adapter = adapter
            self.count = count
            for _ in 0..<count { metrics.requestStarted(adapter: adapter) }
        }

        deinit {
            for _ in 0..<count { metrics.requestEnded(adapter: adapter) }
        }
    }

    /// `use_beam_search`: what turns a request's SamplingParams into vLLM's BeamSearchParams, and the
    /// detokenizer of the beams' text.
    struct BeamSearchOptions: Sendable {
        var lengthPenalty: Double
        var decode: @Sendable ([Int]) throws -> String
    }

    /// Submits every prompt (with adapter `lora`; nil: the base model); if one is refused, those already
    /// submitted are aborted.
    static func submit(
        engine: any EngineClient, metrics: ServerMetrics, requestIds: [String], prompts: [[Int]],
        params: [SamplingParams], lora: LoRARequest? = nil, beamSearch: BeamSearchOptions? = nil
    ) throws(OpenAIError) -> GenerationRun {
        var submitted: [Submitted] = []
        for index in prompts.indices {
            do {
                let stream = try beamSearch.map {
                    try beamSearchStream(engine: engine, requestId: requestIds[index], prompt: prompts[index],
                                         params: params[index], lora: lora, options: $0)
                } ?? engine.generate(requestId: requestIds[index], promptTokenIds: prompts[index], params: params[index],
                                     lora: lora)
                submitted.append(
                    Submitted(
                        requestId: requestIds[index], promptTokenIds: prompts[index], stream: stream,
                        numSequences: params[index].n))
            } catch {
                for done in submitted { engine.abort(requestId: done.requestId) }
                if let validation = error as? VLLMValidationError { throw .validation(validation) }
                // An adapter the engine could not read again (its folder changed since it was loaded): the server's
                // fault, not a busy engine.
                if lora != nil && !(error is EngineUnavailableError) { throw .internalError(String(describing: error)) }
                throw .engineUnavailable(String(describing: error))
            }
        }
        return GenerationRun(engine: engine, metrics: metrics, submitted: submitted,
                             inFlight: InFlight(metrics: metrics, adapter: lora?.name, count: submitted.count))
    }

    /// A beam search (vLLM's `OpenAIServing.beam_search`) as one request's output stream: one final
    /// RequestOutput with the `n` best beams, best first. Its steps' requests are the engine's own; ending
    /// the stream early cancels the search, which aborts the step in flight.
    static func beamSearchStream(engine: any EngineClient, requestId: String, prompt: [Int], params: SamplingParams,
                                 lora: LoRARequest?, options: BeamSearchOptions) throws -> AsyncThrowingStream<RequestOutput, Error> {
        var beamParams = BeamSearchParams(beamWidth: params.n, maxTokens: params.maxTokens ?? 16)
        beamParams.ignoreEos = params.ignoreEos
        beamParams.temperature = params.temperature
        beamParams.lengthPenalty = options.lengthPenalty
        beamParams.includeStopStrInOutput = params.includeStopStrInOutput
        let eos = engine.eosTokenIds.first
        let (stream, continuation) = AsyncThrowingStream<RequestOutput, Error>.makeStream()
        let task = Task {
            do {
                var metrics = RequestMetrics(arrivalTime: Date().timeIntervalSince1970)
                let beams = try await engine.beamSearch(requestId: requestId, promptTokenIds: prompt, params: beamParams,
                                                        eosTokenId: eos, lora: lora)
                metrics.firstTokenTime = Date().timeIntervalSince1970
                metrics.finishedTime = metrics.firstTokenTime
                let outputs = try beams.enumerated().map { index, beam in
                    let generated = Array(beam.tokens.dropFirst(prompt.count))
                    let endsWithEOS = beam.finishReason == .stop && generated.last == eos
                    let text = try options.decode(endsWithEOS ? Array(generated.dropLast()) : generated)
                    let logprobs = Array(beam.logprobs.prefix(generated.count))
                    return CompletionOutput(index: index, text: text, tokenIds: generated, deltaText: text, deltaTokenIds: generated,
                                            logprobs: logprobs, deltaLogprobs: logprobs, finishReason: beam.finishReason ?? .length,
                                            stopReason: beam.finishReason == .stop ? eos.map { .tokenId($0) } : nil)
                }
                continuation.yield(RequestOutput(requestId: requestId, promptTokenIds: prompt, outputs: outputs, isFinished: true,
                                                 metrics: metrics))
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    /// Calls `body` with (prompt index, output) for every output of every request, in arrival order.
    func forEachOutput(_ body: (Int, RequestOutput) async throws -> Void) async throws {
        var recorders = submitted.map { RequestRecorder(metrics: metrics, promptLength: $0.promptTokenIds.count) }
        var finished = Array(repeating: false, count: submitted.count)
        defer {
            let now = Date().timeIntervalSince1970
            for index in submitted.indices where !finished[index] {
                engine.abort(requestId: submitted[index].requestId)
                recorders[index].abortUnfinished(numSequences: submitted[index].numSequences, now: now)
            }
        }
        func handle(_ index: Int, _ output: RequestOutput) async throws {
            recorders[index].observe(output, now: Date().timeIntervalSince1970)
            if output.isFinished { finished[index] = true }
            try await body(index, output)
        }
        if submitted.count == 1 {
            for try await output in submitted[0].stream {
                try Task.checkCancellation()
                try await handle(0, output)
            }
        } else {
            enum Event: Sendable {
                case output(Int, RequestOutput)
                case ended
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                let (merged, continuation) = AsyncThrowingStream<Event, Error>.makeStream()
                for (index, request) in submitted.enumerated() {
                    let stream = request.stream
                    group.addTask {
                        do {
                            for try await output in stream { continuation.yield(.output(index, output)) }
                            continuation.yield(.ended)
                        } catch {
                            continuation.finish(throwing: error)
                        }
                    }
                }
                var numEnded = 0
                for try await event in merged {
                    try Task.checkCancellation()
                    switch event {
                    case .output(let index, let output):
                        try await handle(index, output)
                    case .ended:
                        numEnded += 1
                    }
                    if numEnded == submitted.count { break }
                }
                continuation.finish()
                group.cancelAll()
            }
        }
        try Task.checkCancellation()
        if finished.contains(false) {
            throw OpenAIError.internalError("The engine ended a request's output stream before it finished.")
        }
    }
}

/// Turns one engine request's outputs into metrics: time to first token, inter-token latency,
/// token counts, finish reasons, end-to-end and queue time (all as vLLM measures them).
struct RequestRecorder {
    let metrics: ServerMetrics
    let promptLength: Int
    let submitTime = Date().timeIntervalSince1970
    private var sequences: [Int: Sequence] = [:]
    private var arrivalTime: Double?
    private var firstScheduledTime: Double?

    private struct Sequence {
        var numTokens = 0
        var lastTokenTime: Double?
        var isFinished = false
    }

    init(metrics: ServerMetrics, promptLength: Int) {
        self.metrics = metrics
        self.promptLength = promptLength
    }

    private var arrival: Double { arrivalTime ?? submitTime }

    mutating func observe(_ output: RequestOutput, now: Double) {
        if output.metrics.arrivalTime > 0 { arrivalTime = output.metrics.arrivalTime }
        firstScheduledTime = output.metrics.firstScheduledTime ?? firstScheduledTime
        for completion in output.outputs {
            var sequence = sequences[completion.index] ?? Sequence()
            let numNew = completion.deltaTokenIds.count
            if numNew > 0 {
                if sequence.numTokens == 0 {
                    let firstToken = output.metrics.firstTokenTime ?? now
                    metrics.recordFirstToken(promptTokens: promptLength, timeToFirstToken: firstToken - arrival)
                    metrics.recordTokens(numNew, interTokenLatency: nil)
                } else {
                    metrics.recordTokens(numNew, interTokenLatency: sequence.lastTokenTime.map { now - $0 })
                }
                sequence.numTokens += numNew
                sequence.lastTokenTime = now
            }
            if let reason = completion.finishReason, !sequence.isFinished {
                sequence.isFinished = true
                finish(reason: reason, now: output.metrics.finishedTime ?? now)
            }
            sequences[completion.index] = sequence
        }
    }

    mutating func abortUnfinished(numSequences: Int, now: Double) {
        for index in 0..<numSequences where !(sequences[index]?.isFinished ?? false) {
            sequences[index, default: Sequence()].isFinished = true
            finish(reason: .abort, now: now)
        }
    }

    private func finish(reason: FinishReason, now: Double) {
        let scheduled = firstScheduledTime ?? now
        metrics.recordFinished(reason: reason, e2eLatency: now - arrival, queueTime: max(0, scheduled - arrival))
    }
}
