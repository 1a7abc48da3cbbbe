import CCUDA
import VLLMCompute

/// CUDA graphs: a step's kernels recorded once from the stream (stream capture) and replayed with one
/// launch, so the GPU runs them back to back instead of paying a launch boundary each. The recorded
/// kernels keep their programmatic-dependent-launch edges. A graph holds the scratch buffers its
/// kernels were handed (`retainedDuringCapture`), so a scratch buffer outgrown later stays alive for it.
extension CUDABackend: GraphCapturing {
    /// A profile times each op by events recorded between them, which a replayed graph would not have.
    public var isGraphUseAllowed: Bool { !profiler.isActive }

    public func captureGraph(_ body: () throws -> Void) throws -> (any DeviceGraph)? {
        guard isGraphUseAllowed else { return nil }
        try context.makeCurrent()
        // Relaxed: an op that first grows a scratch buffer may call cuMemAlloc while the stream records.
        try check(driver.cuStreamBeginCapture!(stream.handle, Int32(CCUDA_STREAM_CAPTURE_MODE_RELAXED)),
                  "cuStreamBeginCapture")
        captureRetained.withLock { $0 = [] }
        var bodyError: (any Error)?
        do { try body() } catch { bodyError = error }
        let retained = captureRetained.withLock { retained -> [Tensor] in
            defer { retained = nil }
            return retained ?? []
        }
        var graph: CUgraph?
        let endResult = driver.cuStreamEndCapture!(stream.handle, &graph)
        if let bodyError {
            if let graph { _ = driver.cuGraphDestroy!(graph) }
            throw bodyError
        }
        try check(endResult, "cuStreamEndCapture")
        guard let graph else { throw CUDAError("cuStreamEndCapture returned no graph") }
        var exec: CUgraphExec?
        let instantiated = driver.cuGraphInstantiateWithFlags!(&exec, graph, 0)
        _ = driver.cuGraphDestroy!(graph)  // the executable graph is a copy
        try check(instantiated, "cuGraphInstantiateWithFlags")
        guard let exec else { throw CUDAError("cuGraphInstantiateWithFlags returned no graph") }
        return CUDAGraph(backend: self, exec: exec, retained: retained)
    }

    /// Keeps `tensor` alive for the graph being recorded, if one is (its kernels were handed it).
    func retainDuringCapture(_ tensor: Tensor) {
        captureRetained.withLock { $0?.append(tensor) }
    }
}

/// One recorded step (`CUDABackend.captureGraph`).
final class CUDAGraph: DeviceGraph, @unchecked Sendable {
    // @unchecked: the exec handle is immutable after creation; the driver orders launches on the stream.
    let backend: CUDABackend
    let exec: CUgraphExec
    /// The scratch buffers the recorded kernels use: alive as long as the graph.
    let retained: [Tensor]

    init(backend: CUDABackend, exec: CUgraphExec, retained: [Tensor]) {
        self.backend = backend
        self.exec = exec
        self.retained = retained
    }

    func replay() throws {
        try backend.context.makeCurrent()
        try backend.check(backend.driver.cuGraphLaunch!(exec, backend.stream.handle), "cuGraphLaunch")
    }

    deinit { _ = backend.driver.cuGraphExecDestroy!(exec) }
}

extension CUDABackend: DeviceTiming {
    public func markTime() throws -> any DeviceTimestamp {
        let event = try CUDAEvent(context: context)
        try event.record(on: stream)
        return event
    }
}

extension CUDAEvent: DeviceTimestamp {
    public func milliseconds(since earlier: any DeviceTimestamp) throws -> Double {
        guard let earlier = earlier as? CUDAEvent else { throw CUDAError("a timestamp of another backend") }
        return Double(try milliseconds(since: earlier))
    }
}
