import Foundation
import VLLMCore
import VLLMEngine

/// Prometheus metrics with vLLM's names, help texts, labels (`model_name`, `engine`) and buckets
/// (`vllm/v1/metrics/loggers.py`), written in the text exposition format as `prometheus_client`
/// writes it (labels sorted, values as Go floats). `_created` series are left out.
///
/// Gauges and the engine's own counters (preemptions, prefix cache) are read from `EngineStats`
/// at scrape time; token counters, finish reasons and latency histograms are recorded here as
/// the server reads each request's outputs.
public final class ServerMetrics: @unchecked Sendable {
    // @unchecked: every stored var is read and written only while holding `lock`.
    private let lock = NSLock()
    private let modelName: String
    private var promptTokens = 0
    private var generationTokens = 0
    private var requestSuccess: [FinishReason: Int] = [:]
    private var timeToFirstToken = Histogram(buckets: Buckets.timeToFirstToken)
    private var interTokenLatency = Histogram(buckets: Buckets.interTokenLatency)
    private var e2eRequestLatency = Histogram(buckets: Buckets.requestLatency)
    private var requestQueueTime = Histogram(buckets: Buckets.requestLatency)
    /// nil without `--enable-lora`.
    private var loraStates: LoRARequestStates?

    /// vLLM's bucket boundaries.
    public enum Buckets {
        public static let timeToFirstToken: [Double] = [
            0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0,
            80.0, 160.0, 640.0, 2560.0,
        ]
        public static let interTokenLatency: [Double] = [
            0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0,
        ]
        public static let requestLatency: [Double] = [
            0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0,
            960.0, 1920.0, 7680.0,
        ]
    }

    /// `maxLoras`: `--max-loras` when LoRA is on (nil: off), which adds `vllm:lora_requests_info` to the page.
    public init(modelName: String, maxLoras: Int? = nil) {
        self.modelName = modelName
        self.loraStates = maxLoras.map(LoRARequestStates.init(maxLoras:))
    }

    private func locked<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    func recordFirstToken(promptTokens count: Int, timeToFirstToken seconds: Double) {
        locked {
            promptTokens += count
            timeToFirstToken.observe(seconds)
        }
    }

    func recordTokens(_ count: Int, interTokenLatency seconds: Double?) {
        locked {
            generationTokens += count
            if let seconds { interTokenLatency.observe(seconds) }
        }
    }

    func recordFinished(reason: FinishReason, e2eLatency: Double, queueTime: Double) {
        locked {
            requestSuccess[reason, default: 0] += 1
            e2eRequestLatency.observe(e2eLatency)
            requestQueueTime.observe(queueTime)
        }
    }

    /// A generation request was handed to the engine; `adapter`: its LoRA's name (nil: the base model).
    func requestStarted(adapter: String?, now: Double = Date().timeIntervalSince1970) {
        locked { loraStates?.started(adapter, now: now) }
    }

    /// A request `requestStarted` counted has ended (finished, aborted, or dropped unread).
    func requestEnded(adapter: String?, now: Double = Date().timeIntervalSince1970) {
        locked { loraStates?.ended(adapter, now: now) }
    }

    /// The recorded counts, for a test or a log line that should not parse the exposition.
    public struct Snapshot: Sendable, Equatable {
        public var promptTokens: Int
        public var generationTokens: Int
        public var requestSuccess: [FinishReason: Int]
        public var timeToFirstTokenCount: Int
        public var e2eLatencyCount: Int
    }

    public func snapshot() -> Snapshot {
        locked {
            Snapshot(
                promptTokens: promptTokens, generationTokens: generationTokens, requestSuccess: requestSuccess,
                timeToFirstTokenCount: timeToFirstToken.count, e2eLatencyCount: e2eRequestLatency.count)
        }
    }

    /// The `/metrics` page of one engine.
    public func render(stats: EngineStats) -> String { render(replicas: [stats]) }

    /// The `/metrics` page: the engines' gauges and counters one line per engine replica (`engine="i"`, as vLLM's
    /// data parallelism labels them); the server's request counters and histograms, which count every replica's
    /// requests, once under `engine="0"` (a departure: vLLM's frontend tells its engines' requests apart).
    public func render(replicas: [EngineStats], now: Double = Date().timeIntervalSince1970) -> String {
        let state = locked {
            (promptTokens, generationTokens, requestSuccess, timeToFirstToken, interTokenLatency, e2eRequestLatency,
             requestQueueTime)
        }
        let lora = locked { () -> LoRARequestStates? in
            loraStates?.stampWhileBusy(now: now)
            return loraStates
        }
        var out = PrometheusText(labels: ["model_name": modelName, "engine": "0"])
        out.gauge("vllm:num_requests_running", "Number of requests in model execution batches.", replicas.map { Double($0.numRunning) })
        out.gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.", replicas.map { Double($0.numWaiting) })
        out.gauge("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", replicas.map(\.kvCacheUsage))
        out.counter(
            "vllm:prefix_cache_queries", "Prefix cache queries, in terms of number of queried tokens.",
            replicas.map(\.prefixCacheQueries))
        out.counter(
            "vllm:prefix_cache_hits", "Prefix cache hits, in terms of number of cached tokens.", replicas.map(\.prefixCacheHits))
        out.counter("vllm:num_preemptions", "Cumulative number of preemption from the engine.", replicas.map(\.numPreemptions))
        let speculation = replicas.compactMap(\.specDecoding)
        if !speculation.isEmpty && speculation.count == replicas.count {
            out.counter("vllm:spec_decode_num_drafts", "Number of spec decoding drafts.", speculation.map(\.numDrafts))
            out.counter("vllm:spec_decode_num_draft_tokens", "Number of draft tokens.", speculation.map(\.numDraftTokens))
            out.counter("vllm:spec_decode_num_accepted_tokens", "Number of accepted tokens.", speculation.map(\.numAcceptedTokens))
            out.positionCounter(
                "vllm:spec_decode_num_accepted_tokens_per_pos", "Accepted tokens per draft position.",
                speculation.map(\.numAcceptedTokensPerPosition))
        }
        out.counter("vllm:prompt_tokens", "Number of prefill tokens processed.", state.0)
        out.counter("vllm:generation_tokens", "Number of generation tokens processed.", state.1)
        out.labeledCounter(
            "vllm:request_success", "Count of successfully processed requests.", label: "finished_reason",
            values: [FinishReason.stop, .length, .abort].map { ($0.rawValue, state.2[$0] ?? 0) })
        out.histogram("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", state.3)
        out.histogram("vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", state.4)
        out.histogram("vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.", state.5)
        out.histogram(
            "vllm:request_queue_time_seconds", "Histogram of time spent in WAITING phase for request.", state.6)
        if let lora {
            var info = PrometheusText(labels: [:])
            info.gaugeSeries(
                "vllm:lora_requests_info", "Running stats on lora requests.",
                lora.series.map { series in
                    (["max_lora": "\(lora.maxLoras)", "waiting_lora_adapters": series.adapters,
                      "running_lora_adapters": series.adapters], series.time)
                })
            out.text += info.text
        }
        return out.text
    }
}

/// vLLM's `LoRARequestStates` and its `vllm:lora_requests_info` gauge, kept from the requests the server submits.
///
/// vLLM sets the gauge to the current time at every stats update (every engine step), under labels naming the
/// adapters with requests waiting and those with requests running; each distinct label set stays on the page with
/// the time it was last set. Its quirk is kept: both labels list the same names — every adapter with a request in
/// flight, in the order each became so — as vLLM's `update_scheduler_stats` fills both from one list. A label set
/// is stamped while requests (of any adapter, or the base model) are in flight, as steps only run then: when one
/// arrives or ends, and at every scrape.
struct LoRARequestStates: Sendable {
    let maxLoras: Int
    /// Requests in flight per adapter, in the order each adapter's first one arrived.
    private var adapters: [(name: String, count: Int)] = []
    /// Every request in flight, the base model's too.
    private var numRequests = 0
    /// Each label set seen (adapters joined by ","), in the order first seen, with when it was last stamped.
    private(set) var series: [(adapters: String, time: Double)] = []

    init(maxLoras: Int) { self.maxLoras = maxLoras }

    mutating func started(_ adapter: String?, now: Double) {
        stampWhileBusy(now: now)
        numRequests += 1
        if let adapter {
            if let index = adapters.firstIndex(where: { $0.name == adapter }) {
                adapters[index].count += 1
            } else {
                adapters.append((adapter, 1))
            }
        }
        stampWhileBusy(now: now)
    }

    mutating func ended(_ adapter: String?, now: Double) {
        stampWhileBusy(now: now)
        numRequests -= 1
        if let adapter, let index = adapters.firstIndex(where: { $0.name == adapter }) {
            adapters[index].count -= 1
            if adapters[index].count == 0 { adapters.remove(at: index) }
        }
        stampWhileBusy(now: now)
    }

    /// Sets the current label set's time to `now`, if any request is in flight.
    mutating func stampWhileBusy(now: Double) {
        guard numRequests > 0 else { return }
        stamp(adapters.map(\.name).joined(separator: ","), now: now)
    }

    mutating func stamp(_ names: String, now: Double) {
        if let index = series.firstIndex(where: { $0.adapters == names }) {
            series[index].time = now
        } else {
            series.append((names, now))
        }
    }
}

/// A Prometheus histogram's state: per-bucket counts (not cumulative), sum and count.
struct Histogram: Sendable, Equatable {
    let buckets: [Double]
    private(set) var bucketCounts: [Int]
    private(set) var sum = 0.0
    private(set) var count = 0

    init(buckets: [Double]) {
        self.buckets = buckets
        self.bucketCounts = Array(repeating: 0, count: buckets.count)
    }

    mutating func observe(_ value: Double) {
        let value = value.isFinite ? max(0, value) : 0
        if let index = buckets.firstIndex(where: { value <= $0 }) { bucketCounts[index] += 1 }
        sum += value
        count += 1
    }
}

/// Writes metrics in the text exposition format, byte for byte as `prometheus_client` does.
struct PrometheusText {
    let labels: [String: String]
    var text = ""

    private func labelString(_ extra: [String: String] = [:]) -> String {
        let all = labels.merging(extra) { _, new in new }
        let body = all.keys.sorted().map { key in "\(key)=\"\(escape(all[key]!))\"" }.joined(separator: ",")
        return "{\(body)}"
    }

    private func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
            .replacingOccurrences(of: "\"", with: "\\\"")
    }

    private mutating func header(_ name: String, _ help: String, _ type: String) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
    }

    mutating func gauge(_ name: String, _ help: String, _ value: some BinaryInteger) {
        gauge(name, help, Double(value))
    }

    mutating func gauge(_ name: String, _ help: String, _ value: Double) {
        gauge(name, help, [value])
    }

    /// One line per engine replica, `engine="i"`.
    mutating func gauge(_ name: String, _ help: String, _ values: [Double]) {
        header(name, help, "gauge")
        for (engine, value) in values.enumerated() { text += "\(name)\(labelString(["engine": "\(engine)"])) \(goFloat(value))\n" }
    }

    /// One line per label set, in the order given (prometheus_client's order: a child's first `labels()` call).
    mutating func gaugeSeries(_ name: String, _ help: String, _ series: [([String: String], Double)]) {
        header(name, help, "gauge")
        for (labels, value) in series { text += "\(name)\(labelString(labels)) \(goFloat(value))\n" }
    }

    mutating func counter(_ name: String, _ help: String, _ value: Int) {
        counter(name, help, [value])
    }

    /// One line per engine replica, `engine="i"`.
    mutating func counter(_ name: String, _ help: String, _ values: [Int]) {
        header(name + "_total", help, "counter")
        for (engine, value) in values.enumerated() {
            text += "\(name)_total\(labelString(["engine": "\(engine)"])) \(goFloat(Double(value)))\n"
        }
    }

    /// One line per engine replica and position (`engine="i"`, `position="j"`).
    mutating func positionCounter(_ name: String, _ help: String, _ values: [[Int]]) {
        header(name + "_total", help, "counter")
        for (engine, positions) in values.enumerated() {
            for (position, value) in positions.enumerated() {
                text += "\(name)_total\(labelString(["engine": "\(engine)", "position": "\(position)"])) \(goFloat(Double(value)))\n"
            }
        }
    }

    mutating func labeledCounter(_ name: String, _ help: String, label: String, values: [(String, Int)]) {
        header(name + "_total", help, "counter")
        for (labelValue, value) in values {
            text += "\(name)_total\(labelString([label: labelValue])) \(goFloat(Double(value)))\n"
        }
    }

    mutating func histogram(_ name: String, _ help: String, _ histogram: Histogram) {
        header(name, help, "histogram")
        var cumulative = 0
        for (bound, count) in zip(histogram.buckets, histogram.bucketCounts) {
            cumulative += count
            text += "\(name)_bucket\(labelString(["le": goFloat(bound)])) \(goFloat(Double(cumulative)))\n"
        }
        text += "\(name)_bucket\(labelString(["le": "+Inf"])) \(goFloat(Double(histogram.count)))\n"
        text += "\(name)_count\(labelString()) \(goFloat(Double(histogram.count)))\n"
        text += "\(name)_sum\(labelString()) \(goFloat(histogram.sum))\n"
    }
}

/// `prometheus_client`'s `floatToGoString`: Python's `repr`, switching to an exponent sooner.
func goFloat(_ value: Double) -> String {
    if value == .infinity { return "+Inf" }
    if value == -.infinity { return "-Inf" }
    if value.isNaN { return "NaN" }
    let repr = value.description
    if value > 0, let dot = repr.firstIndex(of: "."), repr.distance(from: repr.startIndex, to: dot) > 6 {
        let digits = repr[repr.startIndex..<dot] + repr[repr.index(after: dot)...]
        var mantissa = "\(digits.first!).\(digits.dropFirst())"
        while mantissa.hasSuffix("0") || mantissa.hasSuffix(".") { mantissa.removeLast() }
        let exponent = repr.distance(from: repr.startIndex, to: dot) - 1
        return "\(mantissa)e+0\(exponent)"
    }
    return repr
}
