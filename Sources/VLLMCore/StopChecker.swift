/// Finds stop strings in generated text as it streams, including ones that span token boundaries
/// (vLLM's `check_stop_strings` and its output-text hold-back).
///
/// Lengths are in Unicode scalars, as Python's `len` counts a `str`. The caller keeps the full
/// text; after each token it appends the detokenized delta and asks `check`. Text within
/// `holdBackLength` of the end may still turn out to be the start of a stop string, so it is not
/// emitted until more text (or the end) arrives.
///
/// When several stop strings end in the new text, the one that completes first wins, ties going
/// to the first listed (as vLLM's tests/detokenizer/test_check_stop_strings.py pins it down).
public struct StopChecker: Sendable, Equatable {
    public let stop: [String]
    public let includeStopStrInOutput: Bool
    private let stopScalars: [[Unicode.Scalar]]

    public init(stop: [String], includeStopStrInOutput: Bool) {
        self.stop = stop
        self.includeStopStrInOutput = includeStopStrInOutput
        stopScalars = stop.map { Array($0.unicodeScalars) }
    }

    /// Scalars at the end of the text held back while streaming (vLLM's `output_text_buffer_length`).
    public var holdBackLength: Int {
        guard !includeStopStrInOutput, let longest = stopScalars.map(\.count).max() else { return 0 }
        return max(0, longest - 1)
    }

    /// What `check` found.
    public struct Result: Sendable, Equatable {
        /// The text so far, cut at the stop string (before it, or after it with
        /// `includeStopStrInOutput`) when one was found.
        public var text: String
        /// The stop string found, `nil` while generation goes on.
        public var stopString: String?
        /// Trailing scalars of `text` not to send yet: 0 once stopped or finished, otherwise up to
        /// `holdBackLength`.
        public var numHeldBackScalars: Int

        /// `text` without its held-back tail: what may be sent to the client now.
        public var emittableText: String {
            let scalars = text.unicodeScalars
            return String(scalars[..<scalars.index(scalars.endIndex, offsetBy: -numHeldBackScalars)])
        }
    }

    /// Looks for a stop string ending within the last `newScalarCount` scalars of `text` (the
    /// text including the newest delta). With `isFinished`, nothing is held back. Work is
    /// proportional to the new text and the stop strings, not to the whole text.
    public func check(text: String, newScalarCount: Int, isFinished: Bool = false) -> Result {
        let scalars = text.unicodeScalars
        let longest = stopScalars.map(\.count).max() ?? 0
        if newScalarCount > 0 && longest > 0 {
            // Only a stop string ending in the new text can be new; it starts at most
            // `longest - 1` scalars before it.
            let window = Array(scalars.suffix(newScalarCount + longest - 1))
            if let (start, index) = earliestMatch(in: window, newScalarCount: min(newScalarCount, window.count)) {
                let end = includeStopStrInOutput ? start + stopScalars[index].count : start
                let cut = scalars.index(scalars.endIndex, offsetBy: end - window.count)
                return Result(text: String(scalars[..<cut]), stopString: stop[index], numHeldBackScalars: 0)
            }
        }
        let held = isFinished ? 0 : scalars.suffix(holdBackLength).count
        return Result(text: text, stopString: nil, numHeldBackScalars: held)
    }

    /// Appends `delta` to `text` and checks.
    public func check(text: String, delta: String, isFinished: Bool = false) -> Result {
        check(text: text + delta, newScalarCount: delta.unicodeScalars.count, isFinished: isFinished)
    }

    /// (start, index in `stop`) of the stop string that completes first within the new scalars
    /// (ties: the first listed); one wholly in older text would have been found before.
    private func earliestMatch(in all: [Unicode.Scalar], newScalarCount: Int) -> (Int, Int)? {
        var best: (start: Int, index: Int, end: Int)? = nil
        for (index, pattern) in stopScalars.enumerated() where !pattern.isEmpty && pattern.count <= all.count {
            var start = max(0, all.count - newScalarCount - pattern.count + 1)
            while start + pattern.count <= all.count {
                if all[start..<start + pattern.count].elementsEqual(pattern) {
                    if best == nil || start + pattern.count < best!.end { best = (start, index, start + pattern.count) }
                    break
                }
                start += 1
            }
        }
        return best.map { ($0.start, $0.index) }
    }
}
