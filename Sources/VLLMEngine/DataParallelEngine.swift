import Synchronization
import VLLMCore

/// vLLM's data parallelism behind one server (`--data-parallel-size D`): D engine replicas, each with its own
/// GPUs (its tensor-parallel group) and KV cache, and a router in front that sends each request to the replica
/// with the fewest requests in flight — or, when its prompt's first tokens went to a replica recently and that
/// one is not much busier, to that replica, where its prefix is likely cached. The load is each replica's own count
/// of requests submitted and not finished (exact at submission, unlike stats a step old). Aborts go to every
/// replica (an id unknown to one is nothing to it).
public final class DataParallelEngine: EngineClient, Sendable {
    public let replicas: [AsyncEngine]
    /// Hash of a prompt's first `affinityTokens` tokens → the replica that last took such a prompt.
    private let affinity = Mutex<[Int: Int]>([:])
    private let turn = Mutex(0)
    static let affinityTokens = 64
    static let maxAffinityEntries = 1 << 16

    public init(replicas: [AsyncEngine]) {
        precondition(!replicas.isEmpty, "DataParallelEngine: no replicas")
        self.replicas = replicas
    }

    public var maxModelLen: Int { replicas[0].maxModelLen }
    public var eosTokenIds: [Int] { replicas[0].eosTokenIds }
    public var maxNumSeqs: Int { replicas.map(\.maxNumSeqs).reduce(0, +) }

    public func generate(requestId: String, promptTokenIds: [Int], params: SamplingParams, lora: LoRARequest?) throws
        -> AsyncThrowingStream<RequestOutput, Error> {
        try replicas[replica(for: promptTokenIds)].generate(requestId: requestId, promptTokenIds: promptTokenIds, params: params,
                                                            lora: lora)
    }

    /// Every replica reads the adapter.
    public func addLoRA(_ lora: LoRARequest) throws {
        for replica in replicas { try replica.addLoRA(lora) }
    }

    /// The replica a prompt goes to: the least loaded (ties taken in turn), unless the replica its prefix went to
    /// last has at most `slack` more requests in flight than that.
    func replica(for prompt: [Int]) -> Int {
        let loads = replicas.map(\.numInFlight)
        let least = loads.min()!
        let start = turn.withLock { turn in
            defer { turn = (turn + 1) % replicas.count }
            return turn
        }
        let leastLoaded = (0..<replicas.count).map { (start + $0) % replicas.count }.first { loads[$0] == least }!
        guard prompt.count >= Self.affinityTokens else { return leastLoaded }
        let key = prompt.prefix(Self.affinityTokens).hashValue
        return affinity.withLock { table in
            let slack = max(4, least / 4)
            if let preferred = table[key], loads[preferred] <= least + slack { return preferred }
            if table.count >= Self.maxAffinityEntries { table.removeAll(keepingCapacity: true) }
            table[key] = leastLoaded
            return leastLoaded
        }
    }

    public func abort(requestId: String) {
        for replica in replicas { replica.abort(requestId: requestId) }
    }

    public func abortAll() {
        for replica in replicas { replica.abortAll() }
    }

    /// The replicas' stats summed (KV cache usage averaged).
    public func stats() -> EngineStats {
        let each = replicaStats()
        var total = EngineStats()
        for stats in each {
            total.numRunning += stats.numRunning
            total.numWaiting += stats.numWaiting
            total.numPreemptions += stats.numPreemptions
            total.prefixCacheQueries += stats.prefixCacheQueries
            total.prefixCacheHits += stats.prefixCacheHits
            total.numFreeBlocks += stats.numFreeBlocks
            total.numTotalBlocks += stats.numTotalBlocks
            total.kvCacheUsage += stats.kvCacheUsage / Double(each.count)
            if let spec = stats.specDecoding { total.specDecoding = (total.specDecoding ?? SpecDecodingStats()).adding(spec) }
        }
        return total
    }

    public func replicaStats() -> [EngineStats] { replicas.map { $0.stats() } }

    public func shutdown() {
        for replica in replicas { replica.shutdown() }
    }
}
