import VLLMCompute

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Tensor and pipeline parallelism on the CPU backend: `size` ranks, each a thread of this process with a
/// `CPUBackend` of its own, meeting at a barrier for each collective and reading each other's host memory. The sums
/// run in rank order (0, 1, …) on every rank, so all ranks hold bit-identical results, as NCCL's do. A `send` waits
/// until its peer's `recv` has copied the values (a rendezvous: no buffering, so the sender may reuse its tensor at
/// once). This is how CI checks the sharding (which slice each rank loads, where the all-reduces and the stages'
/// hand-offs go) without GPUs.
public final class CPUCommunicator: Communicator, @unchecked Sendable {
    // @unchecked: the shared slots are written by one rank each between two barriers and read only after the
    // barrier that follows, so no two threads touch a slot at once.
    public let rank: Int
    public let size: Int
    private let group: Group

    /// The ranks of one group, to be handed one to each rank's thread.
    public static func group(size: Int) -> [CPUCommunicator] {
        precondition(size >= 1, "a communicator group of \(size) ranks")
        let group = Group(size: size)
        return (0..<size).map { CPUCommunicator(rank: $0, group: group) }
    }

    private init(rank: Int, group: Group) {
        self.rank = rank
        self.size = group.size
        self.group = group
    }

    public func allReduce(_ tensor: Tensor) throws {
        guard tensor.dtype.isFloatingPoint else { throw BackendError("allReduce: \(tensor) is not a float tensor") }
        let parts = try exchange(tensor)
        // Every rank sums all ranks' values in rank order into its own buffer, then — once every rank has
        // read — writes them back.
        var sum = [Float](repeating: 0, count: tensor.count)
        for part in parts {
            guard part.count == tensor.count, part.dtype == tensor.dtype else {
                throw BackendError("allReduce: rank \(rank) has \(tensor), another rank \(part)")
            }
            let base = UnsafeRawPointer(bitPattern: part.address)!
            for i in 0..<sum.count { sum[i] += part.dtype.loadFloat(from: base, at: i) }
        }
        try group.barrier.wait()
        let out = UnsafeMutableRawPointer(bitPattern: tensor.address)!
        for i in 0..<sum.count { tensor.dtype.storeFloat(sum[i], to: out, at: i) }
    }

    public func allGather(_ input: Tensor, out: Tensor) throws {
        guard out.dtype == input.dtype, out.count >= size * input.count else {
            throw BackendError("allGather: out \(out) cannot hold \(size) × \(input)")
        }
        let parts = try exchange(input)
        for (r, part) in parts.enumerated() {
            guard part.count == input.count, part.dtype == input.dtype else {
                throw BackendError("allGather: rank \(rank) has \(input), rank \(r) \(part)")
            }
            UnsafeMutableRawPointer(bitPattern: out.address + UInt(r * input.byteCount))!
                .copyMemory(from: UnsafeRawPointer(bitPattern: part.address)!, byteCount: input.byteCount)
        }
        try group.barrier.wait()
    }

    public func broadcast(_ tensor: Tensor, root: Int) throws {
        let parts = try exchange(tensor)
        guard root >= 0 && root < size, parts[root].byteCount == tensor.byteCount else {
            throw BackendError("broadcast: root \(root) of \(size) ranks, \(tensor)")
        }
        if rank != root {
            UnsafeMutableRawPointer(bitPattern: tensor.address)!
                .copyMemory(from: UnsafeRawPointer(bitPattern: parts[root].address)!, byteCount: tensor.byteCount)
        }
        try group.barrier.wait()
    }

    public func send(_ tensor: Tensor, to peer: Int) throws {
        guard peer >= 0 && peer < size && peer != rank else { throw BackendError("send: rank \(rank) to rank \(peer) of \(size)") }
        try group.mailboxes.send(tensor, from: rank, to: peer)
    }

    public func recv(_ tensor: Tensor, from peer: Int) throws {
        guard peer >= 0 && peer < size && peer != rank else { throw BackendError("recv: rank \(rank) from rank \(peer) of \(size)") }
        try group.mailboxes.receive(into: tensor, from: peer, to: rank)
    }

    public func abort() {
        group.barrier.abort()
        group.mailboxes.abort()
    }

    /// Posts this rank's tensor and returns every rank's, once all have posted.
    private func exchange(_ tensor: Tensor) throws -> [Tensor] {
        group.slots[rank] = tensor
        try group.barrier.wait()
        return group.slots.map { $0! }
    }

    /// What the ranks of one group share.
    private final class Group: @unchecked Sendable {
        // @unchecked: see CPUCommunicator.
        let size: Int
        var slots: [Tensor?]
        let barrier: Barrier
        let mailboxes: Mailboxes

        init(size: Int) {
            self.size = size
            slots = [Tensor?](repeating: nil, count: size)
            barrier = Barrier(count: size)
            mailboxes = Mailboxes(size: size)
        }
    }
}

/// A mutex and condition variable with an abort flag, the waiting shared by `Barrier` and `Mailboxes`: `abort` wakes
/// every waiter for good.
private class AbortableMonitor: @unchecked Sendable {
    // @unchecked: subclasses read and write their state only between `lock` and `unlock`.
    private(set) var isAborted = false
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
    /// Under the lock: sleeps until `broadcast` or `abort`.
    func sleep() { pthread_cond_wait(condition, mutex) }
    /// Under the lock: wakes every waiter.
    func broadcast() { pthread_cond_broadcast(condition) }

    func abort() {
        lock()
        isAborted = true
        broadcast()
        unlock()
    }
}

/// A reusable barrier of `count` threads (pthread's, which Darwin lacks) that `abort` breaks for good.
private final class Barrier: AbortableMonitor, @unchecked Sendable {
    // @unchecked: all state is read and written under the monitor's lock.
    private let count: Int
    private var waiting = 0
    private var generation = 0

    init(count: Int) {
        self.count = count
    }

    func wait() throws {
        lock()
        defer { unlock() }
        let arrived = generation
        waiting += 1
        if waiting == count {
            waiting = 0
            generation += 1
            broadcast()
        } else {
            while generation == arrived && !isAborted { sleep() }
        }
        if isAborted { throw BackendError("tensor parallel group aborted: another rank failed") }
    }
}

/// The point-to-point hand-offs of one group: a slot per (sender, receiver) pair holding the tensor a `send` posted
/// until the receiver has copied it. `abort` breaks every wait for good, as the barrier's does.
private final class Mailboxes: AbortableMonitor, @unchecked Sendable {
    // @unchecked: all state is read and written under the monitor's lock.
    private let size: Int
    /// `posted[from · size + to]`: the tensor `from` sends `to`, until `to` has copied it.
    private var posted: [Tensor?]

    init(size: Int) {
        self.size = size
        posted = [Tensor?](repeating: nil, count: size * size)
    }

    /// Posts `tensor` and returns once the receiver has copied it.
    func send(_ tensor: Tensor, from: Int, to: Int) throws {
        lock()
        defer { unlock() }
        let slot = from * size + to
        while posted[slot] != nil && !isAborted { sleep() }
        if isAborted { throw Self.aborted }
        posted[slot] = tensor
        broadcast()
        while posted[slot] != nil && !isAborted { sleep() }
        if posted[slot] != nil { throw Self.aborted }
    }

    /// Waits for `from`'s next send to `to` and copies it into `tensor`.
    func receive(into tensor: Tensor, from: Int, to: Int) throws {
        lock()
        defer { unlock() }
        let slot = from * size + to
        while posted[slot] == nil && !isAborted { sleep() }
        if isAborted { throw Self.aborted }
        let sent = posted[slot]!
        guard sent.count == tensor.count, sent.dtype == tensor.dtype else {
            throw BackendError("recv: rank \(to) expects \(tensor), rank \(from) sent \(sent)")
        }
        UnsafeMutableRawPointer(bitPattern: tensor.address)!
            .copyMemory(from: UnsafeRawPointer(bitPattern: sent.address)!, byteCount: tensor.byteCount)
        posted[slot] = nil
        broadcast()
    }

    private static let aborted = BackendError("parallel group aborted: another rank failed")
}
