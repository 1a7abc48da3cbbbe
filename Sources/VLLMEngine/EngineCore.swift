import VLLMCompute
import VLLMCore
import VLLMModels

/// The step loop of the engine: `schedule → execute → update`, one step at a time.
///
/// Not thread-safe by design: exactly one thread drives it (AsyncEngine's loop thread, or the
/// caller of the offline `LLM`).
public final class EngineCore: @unchecked Sendable {
    // @unchecked: confined to the one thread that drives it (see above).
    public private(set) var scheduler: Scheduler
    public let runner: ModelRunner
    /// Seed of every live request: its own, or one drawn at arrival (vLLM draws per request too).
    private var seeds: [String: UInt64] = [:]
    private var generator = SystemRandomNumberGenerator()

    public init(runner: ModelRunner, config: SchedulerConfig) {
        self.runner = runner
        scheduler = Scheduler(config: config)
    }

    /// Validates and enqueues a request (throws `VLLMValidationError` worded as vLLM's).
    public func addRequest(_ request: Request) throws {
        try scheduler.addRequest(request)
        seeds[request.requestId] = request.samplingParams.seed.map { UInt64(bitPattern: Int64($0)) } ?? generator.next()
    }

    /// Ends requests now (abort, or a stop string found while detokenizing); frees their blocks.
    public func finishRequests(_ ids: [String], reason: FinishReason, stopReason: StopReason? = nil) {
        scheduler.finishRequests(ids, reason: reason, stopReason: stopReason)
        for id in ids { seeds[id] = nil }
    }

    public var hasUnfinishedRequests: Bool { scheduler.hasUnfinishedRequests }

    /// What one step did.
    public struct StepResult: Sendable {
        /// What each request gained, with the logprobs asked for.
        public var outputs: [(output: EngineCoreOutput, logprobs: TokenLogprobs?)] = []
        /// Requests scheduled for the first time (or again after a preemption) in this step.
        public var newlyScheduledIds: [String] = []
        /// Prompt logprobs computed this step: positions `start ..< start + values.count` of the prompt.
        public var promptLogprobs: [String: (start: Int, values: [TokenLogprobs])] = [:]
    }

    /// One step: schedule → execute → update.
    public func step() throws -> StepResult {
        let output = scheduler.schedule()
        guard !output.isEmpty else { return StepResult() }
        let sampled = try runner.execute(output, requests: { [scheduler] in scheduler.request($0) }, seeds: seeds)
        let outputs = scheduler.updateFromOutput(output, sampledTokenIds: sampled.sampled.mapValues(\.tokenId))
        for o in outputs where o.isFinished { seeds[o.requestId] = nil }
        return StepResult(outputs: outputs.map { ($0, sampled.sampled[$0.requestId]?.logprobs) },
                          newlyScheduledIds: output.scheduledRequests.filter(\.isNewOrResumed).map(\.requestId),
                          promptLogprobs: sampled.promptLogprobs)
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
