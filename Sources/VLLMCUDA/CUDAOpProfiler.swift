import CCUDA
import VLLMCompute

/// GPU time of one op name, summed over its calls while profiling was on.
public struct CUDAOpTime: Sendable {
    public var name: String
    public var calls: Int
    public var milliseconds: Double
    /// Host time spent queuing its calls (from the previous op's mark to its own): a launch that blocks
    /// shows here.
    public var hostMilliseconds: Double
}

/// Where a step's GPU time goes: while on, every kernel launch, matmul and host → device copy is
/// followed by an event on the stream, and an op's time is the time between its event and the one
/// before. That is the op's own GPU time only while the stream has work queued ahead of the GPU
/// (otherwise idle gaps count too): `CUDABackend.holdStream` queues enough first.
final class CUDAOpProfiler: Sendable {
    private struct State {
        var active = false
        var marks: [(name: String, event: CUDAEvent, host: Double)] = []
        var spare: [CUDAEvent] = []
    }
    private let state = Protected(State())
    let context: CUDAContext
    let stream: CUDAStream

    init(context: CUDAContext, stream: CUDAStream) {
        self.context = context
        self.stream = stream
    }

    /// Whether ops are being timed now.
    var isActive: Bool { state.withLock { $0.active } }

    func start() throws {
        state.withLock { $0.active = true }
        try mark("start")
    }

    /// Records an event after the op just queued (nothing when profiling is off).
    func mark(_ name: @autoclosure () -> String) throws {
        try state.withLock { state in
            guard state.active else { return }
            let event = try state.spare.popLast() ?? CUDAEvent(context: context)
            try event.record(on: stream)
            state.marks.append((name(), event, monotonicSeconds() * 1e3))
        }
    }

    /// Stops, waits for the last op, and returns each op name's calls and time, in order of first use.
    func stop() throws -> [CUDAOpTime] {
        let marks = state.withLock { state -> [(name: String, event: CUDAEvent, host: Double)] in
            state.active = false
            defer { state.marks = [] }
            return state.marks
        }
        guard let last = marks.last else { return [] }
        try last.event.synchronize()
        var times: [CUDAOpTime] = []
        var index: [String: Int] = [:]
        for (previous, mark) in zip(marks, marks.dropFirst()) {
            let milliseconds = Double(try mark.event.milliseconds(since: previous.event))
            let host = mark.host - previous.host
            if let i = index[mark.name] {
                times[i].calls += 1
                times[i].milliseconds += milliseconds
                times[i].hostMilliseconds += host
            } else {
                index[mark.name] = times.count
                times.append(CUDAOpTime(name: mark.name, calls: 1, milliseconds: milliseconds, hostMilliseconds: host))
            }
        }
        state.withLock { $0.spare += marks.map(\.event) }
        return times
    }
}

extension CUDABackend {
    /// Starts timing every op queued from now on (see `CUDAOpProfiler`).
    public func startProfiling() throws { try profiler.start() }

    /// Stops timing; each op name's calls and GPU milliseconds, in order of first use.
    public func stopProfiling() throws -> [CUDAOpTime] { try profiler.stop() }

    /// Queues about `milliseconds` of matmuls on scratch buffers, so the ops launched next wait behind
    /// them: the host has queued a whole step before the GPU reaches it, and a profile of that step
    /// measures GPU time alone.
    public func holdStream(milliseconds: Double) throws {
        let n = 8192  // one 8192³ bf16 matmul: 1.1 TFLOP, about 1.5 ms on an H100
        let a = try allocate(shape: [n, n], dtype: activationDType)
        let b = try allocate(shape: [n, n], dtype: activationDType)
        let out = try allocate(shape: [n, n], dtype: activationDType)
        let start = try CUDAEvent(context: context), end = try CUDAEvent(context: context)
        try start.record(on: stream)
        try linear(a, weight: b, bias: nil, out: out)
        try end.record(on: stream)
        try end.synchronize()
        let each = max(0.01, Double(try end.milliseconds(since: start)))
        for _ in 0..<Int((milliseconds / each).rounded(.up)) { try linear(a, weight: b, bias: nil, out: out) }
    }
}
