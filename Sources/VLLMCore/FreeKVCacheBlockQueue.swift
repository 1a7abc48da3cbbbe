/// The free blocks in eviction order: a doubly linked list over block ids, as vLLM's
/// `FreeKVCacheBlockQueue`, so a block can leave from the middle in O(1) when it becomes a cache
/// hit. The front is evicted first.
///
/// Links live in two arrays indexed by block id, with a fake head and a fake tail (ids
/// `numBlocks` and `numBlocks + 1`) so no operation special-cases the ends.
public struct FreeKVCacheBlockQueue: Sendable, Equatable {
    /// `nil` where the block is not in the queue.
    private var next: [Int?]
    private var prev: [Int?]
    private let head: Int
    private let tail: Int
    public private(set) var numFreeBlocks: Int = 0

    /// A queue holding `blockIds` in the given order.
    public init(numBlocks: Int, blockIds: [Int]) {
        head = numBlocks
        tail = numBlocks + 1
        next = Array(repeating: nil, count: numBlocks + 2)
        prev = Array(repeating: nil, count: numBlocks + 2)
        next[head] = tail
        prev[tail] = head
        append(blockIds)
    }

    public func contains(_ blockId: Int) -> Bool { next[blockId] != nil }

    /// Removes and returns the first `count` blocks (the next to evict). Needs `count <= numFreeBlocks`.
    public mutating func popFront(_ count: Int) -> [Int] {
        precondition(count <= numFreeBlocks, "popFront(\(count)) with \(numFreeBlocks) free blocks")
        var popped: [Int] = []
        popped.reserveCapacity(count)
        for _ in 0..<count {
            guard let first = next[head], first != tail else { break }
            remove(first)
            popped.append(first)
        }
        return popped
    }

    /// Takes a block out from anywhere in the queue (a cache hit on a free block).
    public mutating func remove(_ blockId: Int) {
        guard let before = prev[blockId], let after = next[blockId] else {
            preconditionFailure("block \(blockId) is not in the free queue")
        }
        next[before] = after
        prev[after] = before
        next[blockId] = nil
        prev[blockId] = nil
        numFreeBlocks -= 1
    }

    /// Puts blocks at the back, in order: evicted last.
    public mutating func append(_ blockIds: [Int]) {
        for blockId in blockIds { insert(blockId, before: tail) }
    }

    /// Puts blocks at the front, keeping their order: evicted first.
    public mutating func prepend(_ blockIds: [Int]) {
        guard let first = next[head] else { return }
        for blockId in blockIds { insert(blockId, before: first) }
    }

    /// Every free block, front to back.
    public var blockIds: [Int] {
        var ids: [Int] = []
        var cursor = next[head]
        while let id = cursor, id != tail {
            ids.append(id)
            cursor = next[id]
        }
        return ids
    }

    private mutating func insert(_ blockId: Int, before successor: Int) {
        precondition(next[blockId] == nil, "block \(blockId) is already in the free queue")
        guard let predecessor = prev[successor] else { preconditionFailure("broken free queue") }
        next[predecessor] = blockId
        prev[blockId] = predecessor
        next[blockId] = successor
        prev[successor] = blockId
        numFreeBlocks += 1
    }
}
