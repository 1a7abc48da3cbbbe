import Foundation
import VLLMCompute
import VLLMCore
import VLLMGrammar
import VLLMModels

/// The engine: requests in, one `step()` at a time, `RequestOutput`s out. Every driver — the offline
/// `LLM`, the online `AsyncEngine`, the benchmarks — adds requests and calls `step()`; nothing about
/// a step lives anywhere else.
///
/// Not thread-safe by design: exactly one thread drives it (AsyncEngine's loop thread, or the
/// caller of the offline `LLM`).
public final class EngineCore: @unchecked Sendable {
    // @unchecked: confined to the one thread that drives it (see above).
    public private(set) var scheduler: Scheduler
    public let runner: ModelRunner
    public let engine: LoadedEngine
    /// The model's EOS ids: generation_config.json's, else config.json's. The first is every request's
    /// EOS; the others stop generation like stop_token_ids (vLLM reads generation_config the same way).
    public let eosTokenIds: [Int]
    private var processor: OutputProcessor
    private var structured: StructuredOutputManager
    /// Shared with `structured`; a `let`, so `validate` may use it from any thread.
    private let grammarCompiler: GrammarCompiler
    private var generator = SystemRandomNumberGenerator()
    /// Speculative decoding's drafter (`--speculative-config`): n-gram prompt lookup or a draft model; both nil
    /// without it.
    private let ngram: NgramProposer?
    private let draft: DraftModelProposer?
    private var ownTimings = StepTimings()
    /// The adapter id of each request that runs one, pinned in the host cache until the request ends.
    private var loraPins: [String: Int] = [:]
    private var reportedGraphFailure = false

    /// Where the host's time went over every step so far (see StepTimings).
    public var stepTimings: StepTimings {
        var timings = ownTimings
        let runner = runner.timings
        timings.prepare += runner.prepare
        timings.launch += runner.launch
        timings.wait += runner.wait
        return timings
    }

    public init(engine: LoadedEngine, detokenizer: (any DetokenizerFactory)?) {
        self.engine = engine
        // Drafts are proposed from the tokens a step returns: the next step cannot be scheduled before it is back.
        asyncScheduling = engine.asyncScheduling && engine.speculativeConfig == nil
        ngram = engine.speculativeConfig.flatMap {
            $0.draftModel == nil ? NgramProposer(config: $0, maxModelLen: engine.schedulerConfig.maxModelLen) : nil
        }
        draft = engine.draftRunner.map { DraftModelProposer(runner: $0, numSpeculativeTokens: engine.speculativeConfig?.numSpeculativeTokens ?? 1) }
        runner = engine.runner
        scheduler = Scheduler(config: engine.schedulerConfig)
        eosTokenIds = engine.generationConfig.eosTokenIds.isEmpty ? engine.config.eosTokenIds : engine.generationConfig.eosTokenIds
        processor = OutputProcessor(detokenizerFactory: detokenizer)
        grammarCompiler = GrammarCompiler(
            tokenBytes: { detokenizer?.tokenBytes() ?? [] }, vocabSize: engine.config.vocabSize, stopTokenIds: eosTokenIds)
        structured = StructuredOutputManager(compiler: grammarCompiler)
    }

    /// vLLM's request checks, without adding a request (so a caller can check a whole batch first):
    /// the fields, the vocabulary, `--max-logprobs`, an empty prompt. Throws `VLLMValidationError`.
    /// A request's adapter is read into the host cache here (unless there already), so a bad folder is this
    /// caller's error (a `ModelError`).
    public func validate(promptTokenIds: [Int], params: SamplingParams, lora: LoRARequest? = nil) throws {
        try engine.validate(params)
        guard !promptTokenIds.isEmpty else { throw VLLMValidationError("The prompt cannot be empty", parameter: "prompt") }
        if let lora { try addLoRA(lora) }
        // Thread-safe: AsyncEngine checks requests on the caller's task, which so compiles their grammars.
        if let spec = params.structuredOutputs { _ = try grammarCompiler.grammar(for: spec) }
    }

    /// Adds a request — its `n` sequences, all or none: a sequence the scheduler refuses (a prompt
    /// longer than the model) leaves nothing behind.
    public func addRequest(_ requestId: String, promptTokenIds: [Int], params: SamplingParams, arrivalTime: Double,
                           lora: LoRARequest? = nil) throws {
        try validate(promptTokenIds: promptTokenIds, params: params, lora: lora)
        let params = params.stoppingAlsoAt(extraEOS: eosTokenIds)
        let seeds = (0..<params.n).map { _ in generator.next() as UInt64 }
        let children = processor.addRequest(requestId: requestId, promptTokenIds: promptTokenIds, params: params,
                                             eosTokenId: eosTokenIds.first, arrivalTime: arrivalTime, drawnSeeds: seeds, lora: lora)
        do {
            for child in children {
                try scheduler.addRequest(child)
                if let spec = params.structuredOutputs {
                    let grammar = try structured.add(child.requestId, spec: spec, startAfter: params.structuredOutputsAfterTokenIds)
                    if !grammar.isReady {
                        scheduler.hold(child.requestId)
                        preparingGrammars[child.requestId] = grammar
                    }
                }
            }
            if let lora {
                loraPins[requestId] = lora.id
                runner.loras?.pin(lora.id)
            }
        } catch {
            scheduler.finishRequests(children.map(\.requestId), reason: .abort)
            for child in children {
                structured.remove(child.requestId)
                preparingGrammars[child.requestId] = nil
            }
            _ = processor.abort(requestId: requestId, now: arrivalTime)
            throw error
        }
    }

    /// Reads adapter `lora` into the engine's host cache (vLLM's `add_lora`): what the server does for
    /// `--lora-modules` and `/v1/load_lora_adapter`, so a bad folder is refused before any request names it.
    /// Thread-safe.
    public func addLoRA(_ lora: LoRARequest) throws {
        guard let loras = runner.loras else {
            throw VLLMValidationError("Got lora_request \(lora.name) but LoRA is not enabled! Use --enable-lora to enable LoRA.",
                                      parameter: "model")
        }
        try loras.adapter(lora)
    }

    /// Ends a request now; its blocks are freed. Returns its final output (finish reason `abort`), or
    /// `nil` when it is unknown or already finished.
    @discardableResult
    public func abortRequest(_ requestId: String, now: Double) -> RequestOutput? {
        let children = processor.childIds(of: requestId)
        scheduler.finishRequests(children, reason: .abort)
        for child in children {
            structured.remove(child)
            preparingGrammars[child] = nil
            draft?.forget(child)
        }
        releaseLoRA(requestId)
        return processor.abort(requestId: requestId, now: now)
    }

    /// A request that ran an adapter ended: its pin on the adapter goes.
    private func releaseLoRA(_ requestId: String) {
        if let id = loraPins.removeValue(forKey: requestId) { runner.loras?.unpin(id) }
    }

    /// Requests still running, or a step still in flight.
    public var hasUnfinishedRequests: Bool { scheduler.hasUnfinishedRequests || inFlight != nil }

    /// vLLM's `--async-scheduling`: the next step is scheduled and launched while the last one runs.
    public let asyncScheduling: Bool

    /// Requests held by the scheduler until their new grammar has its first masks (`TokenGrammar.prepare`).
    private var preparingGrammars: [String: TokenGrammar] = [:]

    /// Lets held requests whose grammar is now ready start. With nothing else to do, waits a moment for one.
    private func releaseReadyGrammars(idle: Bool) {
        guard !preparingGrammars.isEmpty else { return }
        if idle && !preparingGrammars.values.contains(where: \.isReady) { Thread.sleep(forTimeInterval: 0.0005) }
        for (requestId, grammar) in preparingGrammars where grammar.isReady {
            scheduler.release(requestId)
            preparingGrammars[requestId] = nil
        }
    }

    /// The step launched and not yet collected (async scheduling keeps one between calls).
    private var inFlight: (output: SchedulerOutput, launched: ModelRunner.LaunchedSamples)?

    /// One step. Synchronous: schedule → launch → wait → update → outputs. With async scheduling the host
    /// runs a step ahead of the device: schedule step N+1 (requests step N samples decode again, their
    /// input token read on the device from N's sampler), launch it, and only then wait for N, update
    /// and hand out N's outputs (detokenized; stop strings end their requests) — all while N+1 runs, so the
    /// device never waits for the host between steps. A request that N finishes (EOS, a stop string) was
    /// already in N+1: that token is dropped, as in vLLM. Steps that read their logits on the host or
    /// need the last token for sampling (penalties) are collected before the next is scheduled. A step with
    /// structured outputs launches its forward ahead, and its sampling once N is collected (its masks
    /// follow N's tokens).
    /// `emit` gets each batch of outputs as soon as it is ready.
    public func step(now: () -> Double, emit: ([RequestOutput]) -> Void) throws {
        if let previous = inFlight, !asyncScheduling || previous.launched.mustFinishBeforeNext {
            inFlight = nil
            emit(try collect(previous, now: now))
        }
        releaseReadyGrammars(idle: inFlight == nil && scheduler.numRunning == 0)
        let start = monotonicSeconds()
        let output = scheduler.schedule(ahead: inFlight != nil)
        ownTimings.schedule += monotonicSeconds() - start
        // A request's queue time (vllm:request_queue_time_seconds) ends when it is first scheduled.
        if output.scheduledRequests.contains(where: \.isNewOrResumed) {
            let time = now()
            for scheduled in output.scheduledRequests where scheduled.isNewOrResumed {
                processor.markScheduled(scheduled.requestId, now: time)
            }
        }
        let previous = inFlight
        inFlight = nil
        if !output.isEmpty {
            ownTimings.steps += 1
            if let previous, needsGrammarMasks(output) {
                // Structured outputs: this step's forward runs while the host collects the last one, whose
                // tokens its masks need; its sampling is queued once they are known.
                let forwarded = try runner.launchForward(output, after: previous.launched)
                let outputs = try collect(previous, now: now)
                inFlight = (output, try runner.launchSampling(forwarded, masks: grammarMasks(output)))
                emit(outputs)
            } else {
                inFlight = (output, try runner.launch(output, after: previous?.launched, masks: grammarMasks(output)))
                if let previous { emit(try collect(previous, now: now)) }
            }
        } else if let previous {
            emit(try collect(previous, now: now))
        }
        if !asyncScheduling, let current = inFlight {
            inFlight = nil
            emit(try collect(current, now: now))
        }
        if !reportedGraphFailure, let reason = runner.decodeGraphStats.disabledReason {
            reportedGraphFailure = true
            engine.log("CUDA graphs: \(reason); decode steps run eagerly from now on")
        }
    }

    /// `step(now:emit:)`, returning every output it emitted.
    public func step(now: () -> Double) throws -> [RequestOutput] {
        var outputs: [RequestOutput] = []
        try step(now: now) { outputs += $0 }
        return outputs
    }

    /// Waits for a launched step, applies its tokens to the scheduler and turns them into RequestOutputs;
    /// stop strings found in them end their requests.
    private func collect(_ step: (output: SchedulerOutput, launched: ModelRunner.LaunchedSamples), now: () -> Double) throws
        -> [RequestOutput] {
        let samples = try runner.wait(step.launched)
        let time = now()
        let waited = monotonicSeconds()
        let updates = scheduler.updateFromOutput(step.output, sampledTokens: samples.rows)
        let updated = monotonicSeconds()
        ownTimings.update += updated - waited
        defer { ownTimings.output += monotonicSeconds() - updated }
        for (id, logprobs) in samples.promptLogprobs { processor.addPromptLogprobs(id, start: logprobs.start, values: logprobs.values) }
        if !structured.isEmpty { advanceGrammars(updates) }
        let (outputs, stopped) = processor.process(updates.map { ($0, samples.logprobs[$0.requestId]) }, now: time)
        for (childId, stop) in stopped {
            scheduler.finishRequests([childId], reason: .stop, stopReason: .string(stop))
            structured.remove(childId)
            draft?.forget(childId)
        }
        if let draft {
            // Preempted requests' blocks went back to the pool, and finished ones' with them: the draft's K/V too.
            for requestId in step.output.preemptedRequestIds { draft.forget(requestId) }
            for update in updates where update.finishReason != nil { draft.forget(update.requestId) }
        }
        if ngram != nil || draft != nil { try proposeDrafts(updates) }
        if !loraPins.isEmpty { for output in outputs where output.isFinished { releaseLoRA(output.requestId) } }
        return outputs
    }

    /// Speculative decoding: drafts for the next step of every request that just gained tokens and may speculate.
    /// Requests whose sampling reads their output history or per-position state do not: penalties and bad words
    /// (the history would have to include each row's drafts), logprobs, min_tokens not yet reached, grammars.
    /// A draft model drafts for all of them at once, in blocks reserved for the drafts first.
    private func proposeDrafts(_ updates: [EngineCoreOutput]) throws {
        var wants: [DraftModelProposer.Want] = []
        for update in updates where update.finishReason == nil {
            guard let request = scheduler.request(update.requestId), !request.isFinished else { continue }
            let params = request.samplingParams
            guard !params.needsOutputHistory, params.logprobs == nil, request.numOutputTokens >= params.minTokens,
                params.structuredOutputs == nil
            else { continue }
            if let ngram {
                let drafts = ngram.propose(request.allTokenIds)
                if !drafts.isEmpty { scheduler.setDraftTokens(update.requestId, drafts) }
            } else if let draft, let room = scheduler.reserveDraftSlots(update.requestId, k: draft.numSpeculativeTokens) {
                wants.append(.init(requestId: update.requestId, tokens: request.allTokenIds, blockIds: room.blockIds,
                                   numDrafts: room.numDrafts))
            }
        }
        guard let draft, !wants.isEmpty else { return }
        for (requestId, drafts) in try draft.propose(wants) { scheduler.setDraftTokens(requestId, drafts) }
    }

    /// Whether a request that samples in `output` has a grammar.
    private func needsGrammarMasks(_ output: SchedulerOutput) -> Bool {
        !structured.isEmpty && output.scheduledRequests.contains { $0.isSampling && structured.hasMatcher($0.requestId) }
    }

    /// The grammar masks of the structured requests that sample in `output`.
    private func grammarMasks(_ output: SchedulerOutput) -> [String: [UInt32]] {
        guard !structured.isEmpty else { return [:] }
        let start = monotonicSeconds()
        defer { ownTimings.grammar += monotonicSeconds() - start }
        let ids = output.scheduledRequests.filter { $0.isSampling && structured.hasMatcher($0.requestId) }.map(\.requestId)
        let masks = structured.masks(for: ids)
        return Dictionary(uniqueKeysWithValues: zip(ids, masks).compactMap { id, mask in mask.map { (id, $0) } })
    }

    /// Moves each structured request's matcher over its new tokens; a finished request's goes. A token the
    /// grammar refuses (the mask rules that out) ends its request with an error in the log.
    private func advanceGrammars(_ updates: [EngineCoreOutput]) {
        let start = monotonicSeconds()
        defer { ownTimings.grammar += monotonicSeconds() - start }
        for update in updates where structured.hasMatcher(update.requestId) {
            if !structured.accept(update.requestId, tokens: update.newTokenIds) && update.finishReason == nil {
                engine.log("structured output: request \(update.requestId) sampled a token its grammar refuses; aborting it")
                scheduler.finishRequests([update.requestId], reason: .abort)
                structured.remove(update.requestId)
            }
            if update.finishReason != nil { structured.remove(update.requestId) }
        }
    }

    public func stats() -> EngineStats {
        var stats = EngineStats()
        stats.numRunning = scheduler.numRunning
        stats.numWaiting = scheduler.numWaiting
        stats.kvCacheUsage = scheduler.kvCacheUsage
        stats.numPreemptions = scheduler.numPreemptions
        stats.prefixCacheQueries = scheduler.prefixCacheStats.queries
        stats.prefixCacheHits = scheduler.prefixCacheStats.hits
        stats.numFreeBlocks = scheduler.numFreeBlocks
        stats.numTotalBlocks = scheduler.config.numGPUBlocks - 1  // block 0 is the null block
        if let spec = engine.speculativeConfig {
            // Every draft position from the start, as vLLM's per-position counters are.
            stats.specDecoding = scheduler.specDecodingStats.adding(SpecDecodingStats(numSpeculativeTokens: spec.numSpeculativeTokens))
        }
        return stats
    }
}

extension SamplingParams {
    /// vLLM reads every EOS id of generation_config.json: the first is the request's EOS, the others
    /// stop it like stop_token_ids (unless `ignoreEos`).
    func stoppingAlsoAt(extraEOS eosTokenIds: [Int]) -> SamplingParams {
        var params = self
        for extra in eosTokenIds.dropFirst() where !ignoreEos && !params.stopTokenIds.contains(extra) {
            params.stopTokenIds.append(extra)
        }
        return params
    }
}
