import Foundation
import VLLMCompute
import VLLMCore
import VLLMModels

/// The online engine: `EngineCore` driven by one dedicated thread, requests submitted from any
/// task, outputs delivered through one `AsyncThrowingStream` per request.
///
/// Cancelling a stream (a client that went away) aborts its request and frees its blocks on the
/// next loop turn. An error inside a step fails the requests then in flight (their blocks are
/// freed) and the engine keeps serving.
public final class AsyncEngine: EngineClient, @unchecked Sendable {
    // @unchecked: `inbox`, `continuations`, `latestStats`, `isStopping` are guarded by `condition`;
    // `core` is touched only by the loop thread (after `init`).
    private enum Command {
        case add(id: String, prompt: [Int], params: SamplingParams, arrival: Double, lora: LoRARequest?)
        case abort(id: String)
    }

    public let maxModelLen: Int
    /// The most sequences one step runs (`--max-num-seqs`, or its default for the device).
    public let maxNumSeqs: Int
    public let eosTokenIds: [Int]
    private let core: EngineCore
    private let condition = NSCondition()
    private var inbox: [Command] = []
    private var continuations: [String: AsyncThrowingStream<RequestOutput, Error>.Continuation] = [:]
    private var latestStats = EngineStats()
    private var isStopping = false
    /// Why the engine cannot run another step (its tensor-parallel group failed), once it cannot.
    private var deathCause: (any Error)?
    private let onDead: @Sendable (any Error) -> Void
    private var thread: Thread?

    /// - Parameter onDead: called once, from the engine's thread, when a step fails in a way no later step can
    ///   recover from (a tensor-parallel rank failed: `RankFailure`); the requests in flight have been failed with
    ///   the error and new ones are refused. The server stops on it.
    public init(engine: LoadedEngine, detokenizer: (any DetokenizerFactory)?, onDead: @escaping @Sendable (any Error) -> Void = { _ in }) {
        self.onDead = onDead
        core = EngineCore(engine: engine, detokenizer: detokenizer)
        maxModelLen = engine.schedulerConfig.maxModelLen
        maxNumSeqs = engine.schedulerConfig.maxNumSeqs
        eosTokenIds = core.eosTokenIds
        latestStats = core.stats()
        // Weak: an engine released before its thread starts (a caller that failed right after creating it) is simply
        // not run; once `loop()` runs, the call holds the engine until the loop ends.
        let thread = Thread { [weak self] in self?.loop() }
        thread.name = "swift-vllm engine"
        self.thread = thread
        thread.start()
    }

    public func generate(requestId: String, promptTokenIds: [Int], params: SamplingParams, lora: LoRARequest?) throws
        -> AsyncThrowingStream<RequestOutput, Error> {
        // Checked on the caller's task (`validate` reads only immutable configuration and the thread-safe adapter
        // cache), so a bad request gets its error before anything is queued.
        try core.validate(promptTokenIds: promptTokenIds, params: params, lora: lora)
        let (stream, continuation) = AsyncThrowingStream<RequestOutput, Error>.makeStream()
        condition.lock()
        defer { condition.unlock() }
        guard !isStopping else { throw EngineUnavailableError("the engine is shutting down") }
        if let deathCause { throw EngineUnavailableError("the engine has stopped: \(deathCause)") }
        guard continuations[requestId] == nil else { throw VLLMValidationError("Request id \(requestId) is already running", parameter: "request_id") }
        continuations[requestId] = continuation
        inbox.append(.add(id: requestId, prompt: promptTokenIds, params: params, arrival: Date().timeIntervalSince1970, lora: lora))
        condition.signal()
        continuation.onTermination = { [weak self] termination in
            if case .cancelled = termination { self?.abort(requestId: requestId) }
        }
        return stream
    }

    public func addLoRA(_ lora: LoRARequest) throws { try core.addLoRA(lora) }

    public func abort(requestId: String) {
        condition.lock()
        inbox.append(.abort(id: requestId))
        condition.signal()
        condition.unlock()
    }

    public func abortAll() {
        condition.lock()
        inbox += continuations.keys.map { Command.abort(id: $0) }
        condition.signal()
        condition.unlock()
    }

    public func stats() -> EngineStats {
        condition.lock()
        defer { condition.unlock() }
        return latestStats
    }

    /// Stops the loop after the current step; requests still in flight end with an error.
    public func shutdown() {
        condition.lock()
        isStopping = true
        condition.signal()
        condition.unlock()
    }

    /// Requests submitted and not yet finished.
    public var numInFlight: Int {
        condition.lock()
        defer { condition.unlock() }
        return continuations.count
    }

    private func loop() {
        while true {
            condition.lock()
            while inbox.isEmpty && !isStopping && !core.hasUnfinishedRequests { condition.wait() }
            let commands = inbox
            inbox.removeAll()
            let stopping = isStopping
            condition.unlock()
            if stopping {
                failAll(EngineUnavailableError("the engine shut down"))
                return
            }
            for command in commands { apply(command) }
            guard core.hasUnfinishedRequests else { publishStats(); continue }
            do {
                try core.step(now: Self.now) { deliver($0) }
            } catch let failure as RankFailure {
                condition.lock()
                deathCause = failure
                condition.unlock()
                onDead(failure)
                failAll(failure)
            } catch {
                failAll(error)
            }
            publishStats()
        }
    }

    private func apply(_ command: Command) {
        switch command {
        case .add(let id, let prompt, let params, let arrival, let lora):
            do {
                try core.addRequest(id, promptTokenIds: prompt, params: params, arrivalTime: arrival, lora: lora)
            } catch {
                finish(id, throwing: error)
            }
        case .abort(let id):
            if let output = core.abortRequest(id, now: Self.now()) { deliver([output]) }
        }
    }

    private func deliver(_ outputs: [RequestOutput]) {
        condition.lock()
        let targets = outputs.map { (continuations[$0.requestId], $0) }
        for output in outputs where output.isFinished { continuations[output.requestId] = nil }
        condition.unlock()
        for (continuation, output) in targets {
            continuation?.yield(output)
            if output.isFinished { continuation?.finish() }
        }
    }

    private func finish(_ id: String, throwing error: Error) {
        condition.lock()
        let continuation = continuations.removeValue(forKey: id)
        condition.unlock()
        continuation?.finish(throwing: error)
    }

    /// Ends every request in flight with `error`, freeing their blocks.
    private func failAll(_ error: Error) {
        condition.lock()
        let all = continuations
        continuations.removeAll()
        condition.unlock()
        for id in all.keys { core.abortRequest(id, now: Self.now()) }
        for continuation in all.values { continuation.finish(throwing: error) }
    }

    private static func now() -> Double { Date().timeIntervalSince1970 }

    private func publishStats() {
        let stats = core.stats()
        condition.lock()
        latestStats = stats
        condition.unlock()
    }
}

/// The engine cannot take requests now (shutting down): HTTP 503.
public struct EngineUnavailableError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
