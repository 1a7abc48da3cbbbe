import Dispatch
import Foundation
import Synchronization
import VLLMCompute

/// Tensor and pipeline parallelism's host side: one thread per rank after the first, the caller's thread being rank 0.
/// `run` hands every rank the same work (load its shard, run a step's forward on its GPU) and waits for all.
///
/// Why threads of one process, not a process per GPU as vLLM: a rank's launches are asynchronous, so a step
/// costs the host one handoff per rank (microseconds), there is no serialization of inputs or outputs, and
/// a rank's failure is an error value in this process rather than a lost worker. NCCL needs each rank's
/// collectives issued from a thread that is not blocked on another rank's, which a thread per rank gives.
public final class RankThreads: @unchecked Sendable {
    // @unchecked: each worker's job slot is written by `run` before the worker's semaphore is signalled and
    // read by the worker after it wakes; results come back the same way, ordered by `done`.
    public let count: Int
    private let workers: [Worker]
    /// How a failure names rank r ("tensor-parallel rank 1", "rank 3 (pipeline stage 1, tensor-parallel rank 1)").
    private let rankName: @Sendable (Int) -> String
    /// Called once when a rank fails, before waiting for the others: it must make ranks blocked on the failed
    /// one fail too (the communicators' `abort`), so that a failure is an error, never a hang.
    private let onFailure: @Sendable () -> Void
    /// The first failure of any run: the group's communicators are aborted then, so every later run fails with it
    /// before it starts — which also makes it the first failure of the run it happened in.
    private let groupFailure = Mutex<RankFailure?>(nil)

    public init(count: Int, rankName: @escaping @Sendable (Int) -> String = { "tensor-parallel rank \($0)" },
                onFailure: @escaping @Sendable () -> Void = {}) {
        self.count = count
        self.rankName = rankName
        self.onFailure = onFailure
        workers = (1..<max(count, 1)).map { Worker(rank: $0) }
    }

    deinit { for worker in workers { worker.stop() } }

    /// `body(r)` on rank r's thread for every rank (rank 0 on the caller's), returning when all have
    /// returned; the results in rank order. The first error to happen is rethrown once all have finished.
    public func run<T>(_ body: @escaping @Sendable (Int) throws -> T) throws -> [T] {
        if workers.isEmpty { return [try body(0)] }
        if let dead = groupFailure.withLock({ $0 }) { throw dead }
        let results = ResultSlots<T>(count: count)
        let record = { @Sendable [self] (rank: Int) in
            do {
                results.set(rank, try body(rank))
            } catch {
                let isFirst = self.groupFailure.withLock { first in
                    guard first == nil else { return false }
                    first = RankFailure(rank: rank, name: self.rankName(rank), error: error)
                    return true
                }
                if isFirst { self.onFailure() }
            }
        }
        for worker in workers { worker.submit { record(worker.rank) } }
        record(0)
        for worker in workers { worker.waitForJob() }
        if let failure = groupFailure.withLock({ $0 }) { throw failure }
        return results.values()
    }

    /// How failures name the ranks of a TP × PP grid (rank g = stage · TP + tensor-parallel rank): by their
    /// tensor-parallel rank in one stage, as before pipeline parallelism, else by both.
    public static func rankName(tensorParallelSize: Int, pipelineParallelSize: Int) -> @Sendable (Int) -> String {
        guard pipelineParallelSize > 1 else { return { "tensor-parallel rank \($0)" } }
        if tensorParallelSize == 1 { return { "rank \($0) (pipeline stage \($0))" } }
        return { "rank \($0) (pipeline stage \($0 / tensorParallelSize), tensor-parallel rank \($0 % tensorParallelSize))" }
    }

    /// One rank's thread: runs submitted jobs one at a time.
    private final class Worker: @unchecked Sendable {
        // @unchecked: `job` is handed over through the semaphores (see RankThreads).
        let rank: Int
        private var job: (@Sendable () -> Void)?
        private var isStopping = false
        private let ready = DispatchSemaphore(value: 0)
        private let done = DispatchSemaphore(value: 0)

        init(rank: Int) {
            self.rank = rank
            let thread = Thread { [self] in loop() }
            thread.name = "parallel rank \(rank)"
            thread.start()
        }

        func submit(_ job: @escaping @Sendable () -> Void) {
            self.job = job
            ready.signal()
        }

        func waitForJob() { done.wait() }

        func stop() {
            isStopping = true
            ready.signal()
        }

        private func loop() {
            while true {
                ready.wait()
                if isStopping { return }
                job?()
                job = nil
                done.signal()
            }
        }
    }
}

/// A rank's failure under tensor or pipeline parallelism: which rank, and what went wrong there. The group is unusable
/// after it.
public struct RankFailure: Error, CustomStringConvertible, Sendable {
    public let rank: Int
    /// How the message names the rank ("tensor-parallel rank 1", "rank 1 (pipeline stage 1)").
    public let name: String
    public let error: any Error
    public var description: String { "\(name) failed: \(error)" }
}

/// The per-rank results of one `RankThreads.run` that no rank failed.
private final class ResultSlots<T>: @unchecked Sendable {
    // @unchecked: each rank writes its own slot; `values` reads them after every rank has signalled done.
    private var slots: [T?]

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ rank: Int, _ value: T) { slots[rank] = value }

    func values() -> [T] { slots.map { $0! } }
}
