/// Finds stop strings in generated text as it streams, including ones that span token boundaries
/// (vLLM's `check_stop_strings` and its output-text hold-back).
///
/// Lengths are in Unicode scalars, as Python's `len` counts a `str`. The caller keeps the full
/// text; after each token it appends the detokenized delta and asks `check`. Text within
/// `holdBackLength` of the end may still turn out to be the start of a stop string, so it is not
/// emitted until more text (or the end) arrives.
///
/// One difference from vLLM, on purpose: when several stop strings end in the new text, the one
/// that starts earliest wins (vLLM takes the first in list order), so the output never contains
/// a stop string.
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
        /// Leading scalars of `text` that may be sent to the client now: all of it once stopped,
        /// otherwise all but the last `holdBackLength`.
        public var numEmittableScalars: Int

        /// The first `numEmittableScalars` of `text`.
        public var emittableText: String {
            var scalars = String.UnicodeScalarView()
            scalars.append(contentsOf: text.unicodeScalars.prefix(numEmittableScalars))
            return String(scalars)
        }
    }

    /// Looks for a stop string ending within the last `newScalarCount` scalars of `text` (the
    /// text including the newest delta). With `isFinished`, nothing is held back.
    public func check(text: String, newScalarCount: Int, isFinished: Bool = false) -> Result {
        let all = Array(text.unicodeScalars)
        if newScalarCount > 0, let (start, index) = earliestMatch(in: all, newScalarCount: newScalarCount) {
            let end = includeStopStrInOutput ? start + stopScalars[index].count : start
            var cut = String.UnicodeScalarView()
            cut.append(contentsOf: all[..<end])
            return Result(text: String(cut), stopString: stop[index], numEmittableScalars: end)
        }
        let emittable = isFinished ? all.count : max(0, all.count - holdBackLength)
        return Result(text: text, stopString: nil, numEmittableScalars: emittable)
    }

    /// Appends `delta` to `text` and checks.
    public func check(text: String, delta: String, isFinished: Bool = false) -> Result {
        check(text: text + delta, newScalarCount: delta.unicodeScalars.count, isFinished: isFinished)
    }

    /// (start, index in `stop`) of the earliest-starting stop string that ends in the new scalars
    /// (ties: the first listed); one wholly in older text would have been found before.
    private func earliestMatch(in all: [Unicode.Scalar], newScalarCount: Int) -> (Int, Int)? {
        var best: (Int, Int)? = nil
        for (index, pattern) in stopScalars.enumerated() where !pattern.isEmpty && pattern.count <= all.count {
            let firstStart = max(0, all.count - newScalarCount - pattern.count + 1)
            var start = firstStart
            while start + pattern.count <= all.count {
                if let (bestStart, _) = best, start >= bestStart { break }
                if all[start..<start + pattern.count].elementsEqual(pattern) {
                    best = (start, index)
                    break
                }
                start += 1
            }
        }
        return best
    }
}
