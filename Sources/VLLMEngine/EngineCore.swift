import VLLMCompute
import VLLMCore
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
    private var generator = SystemRandomNumberGenerator()

    public init(engine: LoadedEngine, detokenizer: (any DetokenizerFactory)?) {
        self.engine = engine
        runner = engine.runner
        scheduler = Scheduler(config: engine.schedulerConfig)
        eosTokenIds = engine.generationConfig.eosTokenIds.isEmpty ? engine.config.eosTokenIds : engine.generationConfig.eosTokenIds
        processor = OutputProcessor(detokenizerFactory: detokenizer)
    }

    /// vLLM's request checks, without adding anything (so a caller can check a whole batch first):
    /// the fields, the vocabulary, `--max-logprobs`, an empty prompt. Throws `VLLMValidationError`.
    public func validate(promptTokenIds: [Int], params: SamplingParams) throws {
        try engine.validate(params)
        guard !promptTokenIds.isEmpty else { throw VLLMValidationError("The prompt cannot be empty", parameter: "prompt") }
    }

    /// Adds a request — its `n` sequences, all or none: a sequence the scheduler refuses (a prompt
    /// longer than the model) leaves nothing behind.
    public func addRequest(_ requestId: String, promptTokenIds: [Int], params: SamplingParams, arrivalTime: Double) throws {
        try validate(promptTokenIds: promptTokenIds, params: params)
        let params = params.stoppingAlsoAt(extraEOS: eosTokenIds)
        let seeds = (0..<params.n).map { _ in generator.next() as UInt64 }
        let children = processor.addRequest(requestId: requestId, promptTokenIds: promptTokenIds, params: params,
                                             eosTokenId: eosTokenIds.first, arrivalTime: arrivalTime, drawnSeeds: seeds)
        do {
            for child in children { try scheduler.addRequest(child) }
        } catch {
            scheduler.finishRequests(children.map(\.requestId), reason: .abort)
            _ = processor.abort(requestId: requestId, now: arrivalTime)
            throw error
        }
    }

    /// Ends a request now; its blocks are freed. Returns its final output (finish reason `abort`), or
    /// `nil` when it is unknown or already finished.
    @discardableResult
    public func abortRequest(_ requestId: String, now: Double) -> RequestOutput? {
        scheduler.finishRequests(processor.childIds(of: requestId), reason: .abort)
        return processor.abort(requestId: requestId, now: now)
    }

    public var hasUnfinishedRequests: Bool { scheduler.hasUnfinishedRequests }

    /// One step: schedule → execute → update → outputs (detokenized; stop strings end their requests).
    public func step(now: () -> Double) throws -> [RequestOutput] {
        let output = scheduler.schedule()
        guard !output.isEmpty else { return [] }
        let samples = try runner.execute(output)
        let updates = scheduler.updateFromOutput(output, sampledTokenIds: samples.sampled.mapValues(\.tokenId))
        let time = now()
        for scheduled in output.scheduledRequests where scheduled.isNewOrResumed { processor.markScheduled(scheduled.requestId, now: time) }
        for (id, logprobs) in samples.promptLogprobs { processor.addPromptLogprobs(id, start: logprobs.start, values: logprobs.values) }
        let (outputs, stopped) = processor.process(updates.map { ($0, samples.sampled[$0.requestId]?.logprobs) }, now: time)
        for (childId, stop) in stopped { scheduler.finishRequests([childId], reason: .stop, stopReason: .string(stop)) }
        return outputs
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
