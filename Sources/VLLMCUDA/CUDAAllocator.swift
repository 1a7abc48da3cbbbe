import CCUDA

/// Device memory for one backend: a caching allocator in the manner of PyTorch's. Freed blocks
/// return to a per-size free list and the next step's equal-sized activations reuse them, so steady
/// state calls cuMemAlloc/cuMemFree not at all; weights and the KV cache, allocated once, simply
/// stay. It counts the bytes in use and their peak: the memory profile that sizes the KV cache.
public final class CUDAAllocator: Sendable {
    let context: CUDAContext

    private struct State {
        var cached: [Int: [CUdeviceptr]] = [:]   // rounded size → free blocks
        var sizes: [CUdeviceptr: Int] = [:]       // live block → rounded size
        var bytesInUse = 0
        var peakBytesInUse = 0
        var bytesCached = 0
    }

    private let state = Protected(State())

    init(context: CUDAContext) {
        self.context = context
    }

    /// Sizes round up to 512 bytes (small) or 2 MiB (large), so nearby sizes share blocks.
    static func roundedSize(_ bytes: Int) -> Int {
        let granule = bytes >= 1 << 24 ? 1 << 21 : 512
        return max(granule, (bytes + granule - 1) / granule * granule)
    }

    /// A block of at least `bytes`, reused from the cache when one of the same rounded size is free.
    func allocate(_ bytes: Int) throws -> CUdeviceptr {
        let size = Self.roundedSize(bytes)
        if let reused = state.withLock({ state -> CUdeviceptr? in
            guard let block = state.cached[size]?.popLast() else { return nil }
            state.bytesCached -= size
            state.sizes[block] = size
            state.bytesInUse += size
            state.peakBytesInUse = max(state.peakBytesInUse, state.bytesInUse)
            return block
        }) {
            return reused
        }
        try context.makeCurrent()
        var pointer: CUdeviceptr = 0
        var result = context.driver.raw.cuMemAlloc!(&pointer, size)
        if result != 0 {
            // Out of memory with blocks parked in the cache: give them back and try once more.
            try emptyCache()
            result = context.driver.raw.cuMemAlloc!(&pointer, size)
        }
        if result != 0 {
            let inUse = state.withLock { $0.bytesInUse }
            throw CUDAError("cuMemAlloc(\(size) bytes) failed: \(context.driver.errorName(result)); "
                + "\(inUse) bytes in use by this backend")
        }
        state.withLock { state in
            state.sizes[pointer] = size
            state.bytesInUse += size
            state.peakBytesInUse = max(state.peakBytesInUse, state.bytesInUse)
        }
        return pointer
    }

    /// Returns a block to the cache (stream order makes reuse by later work on the stream safe).
    func release(_ pointer: CUdeviceptr) {
        state.withLock { state in
            guard let size = state.sizes.removeValue(forKey: pointer) else { return }
            state.bytesInUse -= size
            state.bytesCached += size
            state.cached[size, default: []].append(pointer)
        }
    }

    /// Frees every cached block (after waiting for the device, since queued work may still use them).
    public func emptyCache() throws {
        try context.makeCurrent()
        try context.driver.check(context.driver.raw.cuCtxSynchronize!(), "cuCtxSynchronize")
        let blocks = state.withLock { state -> [CUdeviceptr] in
            let blocks = state.cached.values.flatMap { $0 }
            state.cached = [:]
            state.bytesCached = 0
            return blocks
        }
        for block in blocks { try context.driver.check(context.driver.raw.cuMemFree!(block), "cuMemFree") }
    }

    /// Bytes held by live tensors.
    public var bytesInUse: Int { state.withLock { $0.bytesInUse } }
    /// The most bytes held by live tensors since the last `resetPeak`.
    public var peakBytesInUse: Int { state.withLock { $0.peakBytesInUse } }
    /// Bytes parked in the cache, free for reuse.
    public var bytesCached: Int { state.withLock { $0.bytesCached } }

    public func resetPeak() {
        state.withLock { $0.peakBytesInUse = $0.bytesInUse }
    }
}
