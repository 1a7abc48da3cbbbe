import VLLMCompute

/// Where a step's host time goes, summed over every step since the engine started: what
/// `bench throughput` prints as `host_ms_per_step`. `wait` is the time the host sat waiting for the
/// device to finish the step (the sampled ids' copy back); the other phases are host work, during which
/// the device runs only what was already queued.
public struct StepTimings: Sendable, Equatable {
    public var steps = 0
    /// Scheduler.schedule.
    public var schedule = 0.0
    /// Flattening the step into inputs and sampling rows, and uploading them.
    public var prepare = 0.0
    /// Queuing the forward's kernels (and the sampler's).
    public var launch = 0.0
    /// Waiting for the device: the sampled ids' copy back.
    public var wait = 0.0
    /// Scheduler.updateFromOutput.
    public var update = 0.0
    /// Detokenizing, stop strings, building RequestOutputs.
    public var output = 0.0
    /// Structured outputs: the step's token masks (before launch) and the matchers' advance (after wait).
    public var grammar = 0.0

    public init() {}

    /// Host work of a step: everything but `wait`.
    public var hostSeconds: Double { schedule + prepare + launch + update + output + grammar }

    /// Milliseconds per step of every phase, for a benchmark's report.
    public func millisecondsPerStep() -> [String: Double] {
        let n = Double(max(steps, 1))
        return ["schedule": schedule, "prepare": prepare, "launch": launch, "wait": wait, "update": update,
                "output": output, "grammar": grammar, "host": hostSeconds].mapValues { $0 * 1000 / n }
    }
}
