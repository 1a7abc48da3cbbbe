import Foundation
import VLLMCore
import VLLMModels

/// vLLM's LRU LoRA managers in one: adapters read from their folders into a host cache of `maxCPULoras`,
/// and put into the model's `maxLoras` device slots as steps need them, the least recently used out first.
/// The host cache may be filled from any thread (a request's adapter is read when it arrives, so a bad folder
/// is its caller's error); the slots are the engine thread's alone.
public final class LoRAManager: @unchecked Sendable {
    // @unchecked: `cached`, `pins` and `clock` are guarded by `lock`; `slots` belongs to the engine's thread.
    private let lock = NSLock()
    public let capacity: LoRACapacity
    public let maxCPULoras: Int
    let config: ModelConfig
    /// Adapters read so far, by id, with when each was last used.
    private var cached: [Int: (adapter: LoRAAdapter, lastUse: Int)] = [:]
    /// Requests in the engine per adapter id: an adapter a live request runs is never evicted from the host cache
    /// (the cache holds more than `maxCPULoras` while it must), so a step never reads a folder again.
    private var pins: [Int: Int] = [:]
    /// The adapter id in each device slot, with when it was last used.
    private var slots: [(id: Int, lastUse: Int)?]
    private var clock = 0

    init(capacity: LoRACapacity, maxCPULoras: Int, config: ModelConfig) {
        self.capacity = capacity
        self.maxCPULoras = max(maxCPULoras, capacity.maxLoras)
        self.config = config
        slots = Array(repeating: nil, count: capacity.maxLoras)
    }

    /// The adapter `request` names, read from its folder unless cached (evicting the least recently used one no
    /// live request runs, beyond `maxCPULoras`; its device slot keeps it until reused); a `ModelError` saying what
    /// is wrong with the folder.
    @discardableResult
    public func adapter(_ request: LoRARequest) throws -> LoRAAdapter {
        if let hit = lock.withLock({ () -> LoRAAdapter? in
            clock += 1
            cached[request.id]?.lastUse = clock
            return cached[request.id]?.adapter
        }) {
            return hit
        }
        let adapter = try LoRAAdapter.load(name: request.name, directory: URL(filePath: request.path), config: config,
                                           maxRank: capacity.maxRank)
        lock.withLock {
            if cached[request.id] == nil, cached.count >= maxCPULoras,
               let oldest = cached.filter({ pins[$0.key] == nil }).min(by: { $0.value.lastUse < $1.value.lastUse })?.key {
                cached[oldest] = nil
            }
            cached[request.id] = (adapter, clock)
        }
        return adapter
    }

    /// A request of adapter `id` entered the engine / left it.
    func pin(_ id: Int) { lock.withLock { pins[id, default: 0] += 1 } }
    func unpin(_ id: Int) {
        lock.withLock {
            pins[id, default: 0] -= 1
            if pins[id]! <= 0 { pins[id] = nil }
        }
    }

    /// The device slot of each of a step's adapters, putting those not in a slot into one (`write`: on every
    /// rank) — a free slot, else the least recently used one no adapter of this step holds.
    func activate(_ requests: Set<LoRARequest>, write: (LoRAAdapter, Int) throws -> Void) throws -> [Int: Int] {
        // One per id, as the scheduler counts them.
        let requests = Dictionary(requests.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first }).values
        guard requests.count <= capacity.maxLoras else {
            throw ModelError("Number of requested LoRAs (\(requests.count)) is greater than the number of GPU LoRA slots (\(capacity.maxLoras)).")
        }
        let now = lock.withLock { clock += 1; return clock }
        var result: [Int: Int] = [:]
        for request in requests {
            if let slot = slots.firstIndex(where: { $0?.id == request.id }) { result[request.id] = slot }
        }
        for request in requests.sorted(by: { $0.id < $1.id }) where result[request.id] == nil {
            let adapter = try adapter(request)
            let taken = Set(result.values)
            let slot = slots.firstIndex(where: { $0 == nil })
                ?? slots.indices.filter { !taken.contains($0) }.min { slots[$0]!.lastUse < slots[$1]!.lastUse }!
            slots[slot] = nil
            try write(adapter, slot)
            slots[slot] = (request.id, now)
            result[request.id] = slot
        }
        for slot in result.values { slots[slot]!.lastUse = now }
        return result
    }
}
