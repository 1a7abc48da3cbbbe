import Foundation

/// When each request of a run is sent, as vLLM's `bench serve` decides it (`get_request`): gaps drawn from
/// a gamma distribution of shape `burstiness` and mean 1 / rate (burstiness 1: a Poisson process; below 1
/// burstier, above 1 more even; infinite: evenly spaced), summed into offsets from the start and, at a fixed
/// rate, rescaled so the last request goes out at exactly count / rate seconds. An infinite rate sends
/// everything at once. A ramp-up moves the rate from start to end over the requests, linearly or
/// exponentially, and is not rescaled.
public struct ArrivalSchedule: Sendable, Equatable {
    public enum RampUp: Sendable, Equatable {
        case linear(startRPS: Double, endRPS: Double)
        case exponential(startRPS: Double, endRPS: Double)
    }

    /// Seconds after the start at which request i is sent.
    public let offsets: [Double]
    /// The rate in force when request i was drawn (vLLM's `rps_change_events` come from these).
    public let rates: [Double]

    public init(count: Int, requestRate: Double, burstiness: Double = 1, rampUp: RampUp? = nil, seed: UInt64) throws {
        guard count > 0 else { throw BenchError.invalidOption("no requests to schedule") }
        guard burstiness > 0 else {
            throw BenchError.invalidOption("--burstiness must be positive, got \(burstiness)")
        }
        guard requestRate > 0 else {
            throw BenchError.invalidOption("--request-rate must be positive (or inf), got \(requestRate)")
        }
        var random = BenchRandom(seed: seed)
        var rates: [Double] = []
        var gaps: [Double] = []
        for index in 0..<count {
            let rate = Self.rate(at: index, of: count, requestRate: requestRate, rampUp: rampUp)
            guard rate > 0 else {
                throw BenchError.invalidOption("the ramp-up gives request \(index) a rate of \(rate); it must be positive")
            }
            rates.append(rate)
            if rate == .infinity {
                gaps.append(0)
            } else if burstiness == .infinity {
                gaps.append(1 / rate)
            } else {
                gaps.append(random.gamma(shape: burstiness, scale: 1 / (rate * burstiness)))
            }
        }
        var offsets = gaps
        for i in offsets.indices.dropFirst() { offsets[i] += offsets[i - 1] }
        if rampUp == nil, let last = offsets.last, last != 0 {
            let factor = Double(count) / requestRate / last
            offsets = offsets.map { $0 * factor }
        }
        self.offsets = offsets
        self.rates = rates
    }

    static func rate(at index: Int, of count: Int, requestRate: Double, rampUp: RampUp?) -> Double {
        let progress = Double(index) / Double(max(count - 1, 1))
        switch rampUp {
        case nil: return requestRate
        case .linear(let start, let end): return start + (end - start) * progress
        case .exponential(let start, let end): return start * pow(end / start, progress)
        }
    }
}
