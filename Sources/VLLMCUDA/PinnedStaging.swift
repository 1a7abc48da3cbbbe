import CCUDA
import VLLMCompute

/// Page-locked host memory (cuMemAllocHost): copies from and to it are truly asynchronous, where a
/// copy from pageable memory may wait for the stream — which would stall the host behind the step in
/// flight, the very overlap async scheduling is for.
final class PinnedHostBuffer: @unchecked Sendable {
    // @unchecked: the memory is written and read by the one thread that drives the backend, between
    // the events that order it against the device.
    let context: CUDAContext
    let address: UnsafeMutableRawPointer
    let byteCount: Int

    init(context: CUDAContext, byteCount: Int) throws {
        self.context = context
        try context.makeCurrent()
        var pointer: UnsafeMutableRawPointer?
        try context.driver.check(context.driver.raw.cuMemAllocHost!(&pointer, byteCount), "cuMemAllocHost(\(byteCount) bytes)")
        guard let pointer else { throw CUDAError("cuMemAllocHost returned no memory") }
        address = pointer
        self.byteCount = byteCount
    }

    deinit { _ = context.driver.raw.cuMemFreeHost!(address) }
}

/// Host → device uploads through a ring of pinned memory: each copy takes the next free bytes of the ring,
/// and bytes are reused only after the event recorded behind the copy that last used them has passed.
final class UploadStaging: Sendable {
    private struct State {
        var buffer: PinnedHostBuffer?
        var head = 0
        var inFlight: [(range: Range<Int>, event: CUDAEvent)] = []
        var spare: [CUDAEvent] = []
    }
    private let state = Protected(State())
    let context: CUDAContext
    let stream: CUDAStream

    init(context: CUDAContext, stream: CUDAStream) {
        self.context = context
        self.stream = stream
    }

    /// Copies `bytes` to `destination` on the stream, through pinned memory.
    func upload(_ bytes: UnsafeRawBufferPointer, to destination: CUdeviceptr) throws {
        let count = bytes.count
        try state.withLock { state in
            if (state.buffer?.byteCount ?? 0) < count {
                for entry in state.inFlight { try entry.event.synchronize() }
                state.spare += state.inFlight.map(\.event)
                state.inFlight = []
                var size = 1 << 22
                while size < count { size *= 2 }
                state.buffer = try PinnedHostBuffer(context: context, byteCount: size)
                state.head = 0
            }
            let buffer = state.buffer!
            if state.head + count > buffer.byteCount { state.head = 0 }
            let region = state.head..<state.head + count
            // Copies still reading these bytes: wait for them (long done, in steady state).
            var kept: [(range: Range<Int>, event: CUDAEvent)] = []
            for entry in state.inFlight {
                if entry.range.overlaps(region) {
                    try entry.event.synchronize()
                    state.spare.append(entry.event)
                } else {
                    kept.append(entry)
                }
            }
            state.inFlight = kept
            (buffer.address + region.lowerBound).copyMemory(from: bytes.baseAddress!, byteCount: count)
            try context.makeCurrent()
            try context.driver.check(
                context.driver.raw.cuMemcpyHtoDAsync!(destination, buffer.address + region.lowerBound, count, stream.handle),
                "cuMemcpyHtoDAsync(\(count) bytes)")
            let event = try state.spare.popLast() ?? CUDAEvent(context: context)
            try event.record(on: stream)
            state.inFlight.append((region, event))
            state.head = (region.upperBound + 255) / 256 * 256
        }
    }
}

/// Device → host copies of sampled tokens, queued right behind the sampler so the next step can be
/// queued before they are read: a few pinned buffers in rotation (a step waits for its tokens before the
/// one after the next is launched), each with the event that says its copy is done.
final class ReadbackSlots: Sendable {
    private struct Slot {
        var buffer: PinnedHostBuffer?
        var event: CUDAEvent?
    }
    private let slots = Protected((next: 0, slots: [Slot](repeating: Slot(), count: 3)))
    let context: CUDAContext
    let stream: CUDAStream

    init(context: CUDAContext, stream: CUDAStream) {
        self.context = context
        self.stream = stream
    }

    /// Queues a copy of `source` into the next slot; the returned closure waits for it and reads it.
    func queueCopy(of source: Tensor) throws -> @Sendable () throws -> [Int32] {
        precondition(source.dtype == .int32)
        let bytes = source.byteCount, count = source.count
        let (buffer, event) = try slots.withLock { state -> (PinnedHostBuffer, CUDAEvent) in
            let index = state.next
            state.next = (index + 1) % state.slots.count
            var slot = state.slots[index]
            if (slot.buffer?.byteCount ?? 0) < bytes {
                var size = 1 << 16
                while size < bytes { size *= 2 }
                slot.buffer = try PinnedHostBuffer(context: context, byteCount: size)
            }
            if slot.event == nil { slot.event = try CUDAEvent(context: context) }
            state.slots[index] = slot
            return (slot.buffer!, slot.event!)
        }
        try context.makeCurrent()
        try context.driver.check(
            context.driver.raw.cuMemcpyDtoHAsync!(buffer.address, source.devicePointer, bytes, stream.handle),
            "cuMemcpyDtoHAsync(\(bytes) bytes)")
        try event.record(on: stream)
        return {
            try event.synchronize()
            return Array(UnsafeBufferPointer(start: buffer.address.assumingMemoryBound(to: Int32.self), count: count))
        }
    }
}
