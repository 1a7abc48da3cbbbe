import Foundation

/// numpy's reductions as vLLM's report uses them: `np.mean`, `np.median`, `np.std` (population) and
/// `np.percentile` (linear interpolation between the two nearest ranks); an empty list reads as [0].
enum Stats {
    static func mean(_ values: [Double]) -> Double {
        values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count)
    }

    static func std(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let m = mean(values)
        return (values.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(values.count)).squareRoot()
    }

    static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted(), middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    static func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let rank = p / 100 * Double(sorted.count - 1)
        let low = Int(rank.rounded(.down)), high = min(low + 1, sorted.count - 1)
        let fraction = rank - Double(low)
        // numpy's `_lerp`: a + (b - a) * t, taken from the upper end when t ≥ 0.5.
        let a = sorted[low], b = sorted[high]
        return fraction >= 0.5 ? b - (b - a) * (1 - fraction) : a + (b - a) * fraction
    }
}

/// vLLM's `--goodput` service-level objectives: a request is good when every given metric is at most its bound.
public struct GoodputObjectives: Sendable, Equatable {
    /// Milliseconds, by metric: ttft, tpot, e2el.
    public var bounds: [String: Double]

    public init(bounds: [String: Double] = [:]) { self.bounds = bounds }

    /// "ttft:500 tpot:50": vLLM's KEY:VALUE pairs.
    public init(parsing pairs: [String]) throws {
        var bounds: [String: Double] = [:]
        for pair in pairs {
            let parts = pair.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, let value = Double(parts[1]) else {
                throw BenchError.invalidOption(
                    "--goodput '\(pair)': specify service level objectives as \"KEY:VALUE\" pairs, where the key is a metric "
                        + "name and the value a number in milliseconds")
            }
            let name = String(parts[0])
            guard ["ttft", "tpot", "e2el"].contains(name) else {
                throw BenchError.invalidOption(
                    "--goodput: invalid metric name \(name): the service level objective name should be one of ttft, tpot, e2el")
            }
            guard value >= 0 else {
                throw BenchError.invalidOption("--goodput \(name): the service level objective value should be non-negative")
            }
            bounds[name] = value
        }
        self.bounds = bounds
    }
}

/// A run's figures, computed from its requests' outcomes as vLLM's `calculate_metrics` computes them.
public struct ServeMetrics: Sendable {
    public var completed = 0
    public var failed = 0
    public var totalInput = 0
    public var totalOutput = 0
    public var requestThroughput = 0.0
    public var requestGoodput = 0.0
    public var outputThroughput = 0.0
    public var totalTokenThroughput = 0.0
    /// Seconds, by metric name (ttft, tpot, itl, e2el): every sample the report reduces.
    public var samples: [String: [Double]] = [:]
    /// Output tokens of each request (0 for the failed ones), in request order.
    public var outputLens: [Int] = []
    /// The busiest one-second bucket of streamed tokens, and the most requests in flight in any bucket.
    public var maxOutputTokensPerSecond = 0.0
    public var maxConcurrentRequests = 0

    /// - Parameters:
    ///   - countTokens: output tokens of a text, for outcomes without `usage` (vLLM tokenizes the text; nil: 1).
    public init(
        outcomes: [RequestOutcome], duration: Double, goodput: GoodputObjectives = GoodputObjectives(),
        countTokens: ((String) -> Int)? = nil
    ) {
        var ttfts: [Double] = [], tpots: [Double] = [], allTpots: [Double] = [], itls: [Double] = [], e2els: [Double] = []
        for outcome in outcomes {
            guard outcome.success else {
                outputLens.append(0)
                continue
            }
            var outputLen = outcome.outputTokens
            if outputLen == 0 { outputLen = countTokens?(outcome.generatedText) ?? 1 }
            outputLens.append(outputLen)
            totalInput += outcome.promptLen
            var tpot = 0.0
            if outputLen > 1 {
                tpot = (outcome.latency - outcome.ttft) / Double(outputLen - 1)
                tpots.append(tpot)
            }
            allTpots.append(tpot)
            itls += outcome.itl
            ttfts.append(outcome.ttft)
            e2els.append(outcome.latency)
            completed += 1
        }
        failed = outcomes.count - completed
        totalOutput = outputLens.reduce(0, +)

        if !goodput.bounds.isEmpty {
            var good = 0
            for i in ttfts.indices {
                let values = ["ttft": ttfts[i], "tpot": allTpots[i], "e2el": e2els[i]]
                if goodput.bounds.allSatisfy({ values[$0.key]! <= $0.value / 1000 }) { good += 1 }
            }
            requestGoodput = Double(good) / duration
        }
        requestThroughput = Double(completed) / duration
        outputThroughput = Double(totalOutput) / duration
        totalTokenThroughput = Double(totalInput + totalOutput) / duration
        samples = ["ttft": ttfts, "tpot": tpots, "itl": itls, "e2el": e2els]
        (maxOutputTokensPerSecond, maxConcurrentRequests) = Self.peaks(outcomes.filter(\.success))
    }

    /// vLLM's peak figures: one-second buckets from the first request's start; each streamed message counts as a
    /// token in its bucket, each request counts in every bucket from its start's to its end's.
    static func peaks(_ outcomes: [RequestOutcome]) -> (tokens: Double, requests: Int) {
        guard let first = outcomes.map(\.startTime).min(), let last = outcomes.map({ $0.startTime + $0.latency }).max() else {
            return (0, 0)
        }
        let buckets = Int((last - first).rounded(.up)) + 1
        var tokens = [Double](repeating: 0, count: buckets)
        var requests = [Int](repeating: 0, count: buckets)
        for outcome in outcomes {
            var time = outcome.startTime + outcome.ttft
            var times = [time]
            for gap in outcome.itl {
                time += gap
                times.append(time)
            }
            for time in times {
                let bucket = Int(time - first)
                if 0 <= bucket && bucket < buckets { tokens[bucket] += 1 }
            }
            let from = Int(outcome.startTime - first), to = Int(outcome.startTime + outcome.latency - first)
            for second in from...min(to, buckets - 1) { requests[second] += 1 }
        }
        return (tokens.max() ?? 0, requests.max() ?? 0)
    }

    public func mean(_ metric: String) -> Double { Stats.mean(samples[metric] ?? []) * 1000 }
    public func median(_ metric: String) -> Double { Stats.median(samples[metric] ?? []) * 1000 }
    public func std(_ metric: String) -> Double { Stats.std(samples[metric] ?? []) * 1000 }
    public func percentile(_ metric: String, _ p: Double) -> Double { Stats.percentile(samples[metric] ?? [], p) * 1000 }
}
