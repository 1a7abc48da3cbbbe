import VLLMCompute

/// The device's own time per step, by kind of step, and the idle gaps between steps: where a
/// benchmark's GPU time goes (`bench throughput` prints it as `gpu_ms_by_step`). Each step is bracketed
/// by two timestamps in the backend's queue (`DeviceTiming`), read once a later step is back.
public struct StepGPUTimes: Sendable {
    /// Steps, GPU milliseconds and tokens of one kind of step.
    public struct Bucket: Sendable {
        public var steps = 0
        public var milliseconds = 0.0
        public var tokens = 0
    }

    /// By kind: "decode 1-8", "decode 9-32", "decode 33-128", "decode 129+" (every sequence feeds one
    /// token), "prefill" (some sequence feeds more).
    public private(set) var byKind: [String: Bucket] = [:]
    /// Milliseconds the device sat between the end of one step and the start of the next.
    public private(set) var idleMilliseconds = 0.0

    /// A step in flight: its marks, read later.
    struct Pending {
        var kind: String
        var tokens: Int
        var start: any DeviceTimestamp
        var end: any DeviceTimestamp
    }
    private var pending: [Pending] = []
    private var lastEnd: (any DeviceTimestamp)?

    static func kind(_ sequences: [StepSequence]) -> String {
        guard sequences.allSatisfy({ $0.tokenIds.count == 1 }) else { return "prefill" }
        switch sequences.count {
        case ...8: return "decode 1-8"
        case ...32: return "decode 9-32"
        case ...128: return "decode 33-128"
        default: return "decode 129+"
        }
    }

    mutating func add(_ step: Pending) { pending.append(step) }

    /// Reads the marks of every step before the last one added (the device has passed them once the last
    /// step's sampled tokens are back); `all` reads the last one too (after a synchronize).
    mutating func settle(all: Bool = false) throws {
        let ready = all ? pending.count : max(0, pending.count - 1)
        for step in pending.prefix(ready) {
            byKind[step.kind, default: Bucket()].steps += 1
            byKind[step.kind, default: Bucket()].milliseconds += try step.end.milliseconds(since: step.start)
            byKind[step.kind, default: Bucket()].tokens += step.tokens
            if let lastEnd { idleMilliseconds += max(0, try step.start.milliseconds(since: lastEnd)) }
            lastEnd = step.end
        }
        pending.removeFirst(ready)
    }
}
