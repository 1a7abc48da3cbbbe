import AsyncHTTPClient
import Foundation
import NIOCore

/// `swift-vllm bench serve`: vLLM's `bench serve` load generator against any OpenAI-compatible server. Requests
/// stream; they are sent on a seeded arrival schedule (`ArrivalSchedule`), at most `maxConcurrency` at a time;
/// each is timed (`OpenAIStreamClient`) and the run reduced to vLLM's report and result file (`ServeMetrics`).
/// A request the server refuses or drops is counted as failed with its error, and the run goes on.
public struct ServeBenchmark: Sendable {
    public struct Options: Sendable {
        public var backend: BenchBackend = .openai
        /// `--base-url`, else http://host:port.
        public var baseURL: String
        public var endpoint = "/v1/completions"
        /// `--model` (nil: the first model of the server's /v1/models) and `--served-model-name`.
        public var model: String?
        public var servedModelName: String?
        public var requestRate = Double.infinity
        public var burstiness = 1.0
        public var rampUp: ArrivalSchedule.RampUp?
        public var maxConcurrency: Int?
        public var seed: UInt64 = 0
        public var ignoreEos = false
        public var logprobs: Int?
        public var goodput = GoodputObjectives()
        /// `--percentile-metrics` (default ttft, tpot, itl) and `--metric-percentiles` (default 99).
        public var percentileMetrics = ["ttft", "tpot", "itl"]
        public var metricPercentiles: [Double] = [99]
        public var numWarmups = 0
        /// `--ready-check-timeout-sec`: retry the first request this long until it succeeds (0: send no test request).
        public var readyCheckTimeout = 0.0
        /// `--header KEY=VALUE` (after OPENAI_API_KEY's Authorization).
        public var headers: [(String, String)] = []
        /// The sampling flags and `--extra-body`, merged into every body.
        public var extraBody: [String: JSONValueBox] = [:]
        /// Draw a progress bar on standard error.
        public var showProgress = false
        /// Seconds a request keeps retrying to connect (with back-off) before it fails.
        public var connectTimeout = 10.0

        public init(baseURL: String) { self.baseURL = baseURL }
    }

    public let options: Options

    public init(options: Options) { self.options = options }

    /// Runs `requests` and returns vLLM's result fields of the run (`benchmark()`'s dictionary, detailed lists
    /// included), printing its report through `print` as vLLM prints it.
    public func run(
        _ requests: [SampleRequest], countTokens: (@Sendable (String) -> Int)?, print: @Sendable (String) -> Void
    ) async throws -> OrderedJSON {
        guard !requests.isEmpty else { throw BenchError.invalidOption("no requests to send") }
        try options.backend.check(endpoint: options.endpoint)
        let schedule = try ArrivalSchedule(
            count: requests.count, requestRate: options.requestRate, burstiness: options.burstiness, rampUp: options.rampUp,
            seed: options.seed)
        // vLLM's: none (or 0) is no limit.
        let limit = options.maxConcurrency.flatMap { $0 > 0 ? $0 : nil } ?? requests.count
        guard limit > 0 else { throw BenchError.invalidOption("--max-concurrency must not be negative") }
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(limit, 1))
        configuration.timeout = .init(connect: .milliseconds(Int64(options.connectTimeout * 1000)))
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            let result = try await run(requests, schedule: schedule, limit: limit, http: http, countTokens: countTokens, print: print)
            try await http.shutdown()
            return result
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    /// The model name requests carry: `--served-model-name`, else `--model`, else the server's first model.
    public static func firstModel(baseURL: String, headers: [(String, String)]) async throws -> (id: String, root: String) {
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        defer { _ = http.shutdown() }
        var request = HTTPClientRequest(url: baseURL + "/v1/models")
        for (name, value) in headers { request.headers.replaceOrAdd(name: name, value: value) }
        do {
            let response = try await http.execute(request, timeout: .seconds(30))
            guard response.status == .ok else {
                throw BenchError.server("GET \(baseURL)/v1/models: \(await OpenAIStreamClient.describeFailure(response))")
            }
            let body = try await response.body.collect(upTo: 16 << 20)
            guard let object = (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any],
                let first = (object["data"] as? [[String: Any]])?.first, let id = first["id"] as? String
            else {
                throw BenchError.server("no models found on the server at \(baseURL) (GET /v1/models listed none)")
            }
            return (id, first["root"] as? String ?? id)
        } catch let error as BenchError {
            throw error
        } catch {
            throw BenchError.server(
                "failed to fetch models from \(baseURL)/v1/models (is the server running, and is the URL right?): \(error)")
        }
    }

    private func run(
        _ requests: [SampleRequest], schedule: ArrivalSchedule, limit: Int, http: HTTPClient,
        countTokens: (@Sendable (String) -> Int)?, print: @Sendable (String) -> Void
    ) async throws -> OrderedJSON {
        let client = OpenAIStreamClient(http: http, backend: options.backend)
        let url = options.baseURL + options.endpoint
        let modelName = options.servedModelName ?? options.model ?? ""
        func input(_ request: SampleRequest, id: String?) -> RequestInput {
            RequestInput(
                prompt: request.prompt, url: url, promptLen: request.promptLen, outputLen: request.expectedOutputLen,
                model: modelName, logprobs: options.logprobs, ignoreEos: options.ignoreEos, extraBody: options.extraBody,
                headers: options.headers, requestId: id)
        }
        let gate = AsyncGate(limit: limit)

        print("Starting initial single prompt test run...")
        if options.readyCheckTimeout > 0 {
            let deadline = monotonicSeconds() + options.readyCheckTimeout
            var outcome = await client.send(input(requests[0], id: nil))
            while !outcome.success && monotonicSeconds() < deadline {
                try await Task.sleep(for: .seconds(1))
                outcome = await client.send(input(requests[0], id: nil))
            }
            guard outcome.success else {
                throw BenchError.server(
                    "Initial test run failed - Please make sure benchmark arguments are correctly specified. Error: \(outcome.error)")
            }
            print("Initial test run completed.")
        } else {
            print("Skipping endpoint ready check.")
        }
        if options.numWarmups > 0 {
            print("Warming up with \(options.numWarmups) requests...")
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<options.numWarmups {
                    group.addTask {
                        await gate.enter()
                        _ = await client.send(input(requests[0], id: nil))
                        await gate.leave()
                    }
                }
            }
            print("Warmup run completed.")
        }

        print("Starting main benchmark run...")
        if let rampUp = options.rampUp {
            switch rampUp {
            case .linear(let start, let end), .exponential(let start, let end):
                print("Traffic ramp-up strategy: \(rampUp.name).")
                print("Will increase RPS from \(Self.python(start)) to \(Self.python(end)) RPS over the duration of the benchmark.")
            }
        } else {
            print("Traffic request rate: \(Self.python(options.requestRate))")
        }
        print("Burstiness factor: \(Self.python(options.burstiness)) (\(options.burstiness == 1 ? "Poisson process" : "Gamma distribution"))")
        print("Maximum request concurrency: \(options.maxConcurrency.map(String.init) ?? "None")")

        let specBefore = await SpecDecodeCounters.fetch(baseURL: options.baseURL, http: http)
        let progress = options.showProgress ? ProgressBar(total: requests.count) : nil
        var rpsEvents: [(Int, String)] = []
        var lastIntegerRate = -1
        if case .some(.linear(let start, _)) = options.rampUp { lastIntegerRate = Int(start) }
        if case .some(.exponential(let start, _)) = options.rampUp { lastIntegerRate = Int(start) }
        if options.rampUp != nil { rpsEvents.append((lastIntegerRate, Self.isoNow())) }

        let start = monotonicSeconds()
        var outcomes = [RequestOutcome](repeating: RequestOutcome(), count: requests.count)
        try await withThrowingTaskGroup(of: (Int, RequestOutcome).self) { group in
            for (index, request) in requests.enumerated() {
                let wait = start + schedule.offsets[index] - monotonicSeconds()
                if wait > 0 { try await Task.sleep(for: .seconds(wait)) }
                if options.rampUp != nil, Int(schedule.rates[index]) > lastIntegerRate {
                    let now = Self.isoNow()
                    for rate in (lastIntegerRate + 1)...Int(schedule.rates[index]) { rpsEvents.append((rate, now)) }
                    lastIntegerRate = Int(schedule.rates[index])
                }
                let request = input(request, id: request.requestId)
                group.addTask {
                    await gate.enter()
                    let outcome = await client.send(request)
                    await gate.leave()
                    progress?.advance()
                    return (index, outcome)
                }
            }
            for try await (index, outcome) in group { outcomes[index] = outcome }
        }
        let duration = monotonicSeconds() - start
        progress?.finish()
        let specAfter = await SpecDecodeCounters.fetch(baseURL: options.baseURL, http: http)

        let metrics = ServeMetrics(outcomes: outcomes, duration: duration, goodput: options.goodput, countTokens: countTokens)
        let failures = outcomes.filter { !$0.success }
        if !failures.isEmpty {
            print("Failed requests during benchmark run detected (capping to 10):")
            for (i, failure) in failures.prefix(10).enumerated() { print("Error \(i): \(failure.error)") }
        }
        let succeeded = outcomes.filter(\.success)
        if !succeeded.isEmpty && !succeeded.contains(where: \.sawUsage) {
            print("WARNING: the server sent no usage in its streams; output tokens were counted from the generated text")
        }
        let mismatched = succeeded.filter { $0.sawUsage && $0.streamedChunks - (options.backend.isChat ? 1 : 0) != $0.outputTokens }
        if !mismatched.isEmpty {
            print("Note: \(mismatched.count) request(s) streamed a different number of text chunks than usage.completion_tokens "
                + "(tokens bundled in one message, or empty deltas); usage is what is counted")
        }
        return report(metrics, outcomes: outcomes, duration: duration, rpsEvents: rpsEvents,
                      spec: SpecDecodeCounters.delta(specBefore, specAfter), print: print)
    }

    /// A report line as vLLM prints one: the label left-aligned in 40 columns, then the value.
    static func reportLine(_ label: String, _ value: String) -> String {
        label.padding(toLength: max(40, label.count), withPad: " ", startingAt: 0) + " " + value
    }

    private func report(
        _ metrics: ServeMetrics, outcomes: [RequestOutcome], duration: Double, rpsEvents: [(Int, String)],
        spec: [(String, OrderedJSON)]?, print: @Sendable (String) -> Void
    ) -> OrderedJSON {
        func line(_ label: String, _ value: String) { print(Self.reportLine(label, value)) }
        func fixed(_ value: Double) -> String { String(format: "%.2f", value) }
        print(Self.banner(" Serving Benchmark Result ", fill: "="))
        line("Successful requests:", String(metrics.completed))
        line("Failed requests:", String(metrics.failed))
        if let concurrency = options.maxConcurrency { line("Maximum request concurrency:", String(concurrency)) }
        if options.requestRate != .infinity { line("Request rate configured (RPS):", fixed(options.requestRate)) }
        line("Benchmark duration (s):", fixed(duration))
        line("Total input tokens:", String(metrics.totalInput))
        line("Total generated tokens:", String(metrics.totalOutput))
        line("Request throughput (req/s):", fixed(metrics.requestThroughput))
        if !options.goodput.bounds.isEmpty { line("Request goodput (req/s):", fixed(metrics.requestGoodput)) }
        line("Output token throughput (tok/s):", fixed(metrics.outputThroughput))
        line("Peak output token throughput (tok/s):", fixed(metrics.maxOutputTokensPerSecond))
        line("Peak concurrent requests:", fixed(Double(metrics.maxConcurrentRequests)))
        line("Total token throughput (tok/s):", fixed(metrics.totalTokenThroughput))

        var result: [(String, OrderedJSON)] = [
            ("duration", .double(duration)),
            ("completed", .int(metrics.completed)),
            ("failed", .int(metrics.failed)),
            ("total_input_tokens", .int(metrics.totalInput)),
            ("total_output_tokens", .int(metrics.totalOutput)),
            ("request_throughput", .double(metrics.requestThroughput)),
            ("request_goodput", options.goodput.bounds.isEmpty ? .null : .double(metrics.requestGoodput)),
            ("output_throughput", .double(metrics.outputThroughput)),
            ("total_token_throughput", .double(metrics.totalTokenThroughput)),
            ("input_lens", .array(outcomes.map { .int($0.promptLen) })),
            ("output_lens", .array(metrics.outputLens.map { .int($0) })),
            ("ttfts", .array(outcomes.map { .double($0.ttft) })),
            ("itls", .array(outcomes.map { .array($0.itl.map { .double($0) }) })),
            ("start_times", .array(outcomes.map { .double($0.startTime) })),
            ("generated_texts", .array(outcomes.map { .string($0.generatedText) })),
            ("errors", .array(outcomes.map { .string($0.error) })),
            ("max_output_tokens_per_s", .double(metrics.maxOutputTokensPerSecond)),
            ("max_concurrent_requests", .int(metrics.maxConcurrentRequests)),
            ("rtfx", .double(0)),
        ]
        if !rpsEvents.isEmpty {
            result.append(("rps_change_events", .array(rpsEvents.map { .object([("rps", .int($0.0)), ("timestamp", .string($0.1))]) })))
        }
        if let spec { result += spec }

        let headers = ["ttft": ("TTFT", "Time to First Token"), "tpot": ("TPOT", "Time per Output Token (excl. 1st token)"),
                       "itl": ("ITL", "Inter-token Latency"), "e2el": ("E2EL", "End-to-end Latency")]
        for metric in ["ttft", "tpot", "itl", "e2el"] where options.percentileMetrics.contains(metric) {
            let (name, header) = headers[metric]!
            print(Self.banner(header, fill: "-"))
            line("Mean \(name) (ms):", fixed(metrics.mean(metric)))
            line("Median \(name) (ms):", fixed(metrics.median(metric)))
            result.append(("mean_\(metric)_ms", .double(metrics.mean(metric))))
            result.append(("median_\(metric)_ms", .double(metrics.median(metric))))
            result.append(("std_\(metric)_ms", .double(metrics.std(metric))))
            for p in options.metricPercentiles {
                let word = Self.percentileWord(p)
                let value = metrics.percentile(metric, p)
                line("P\(word) \(name) (ms):", fixed(value))
                result.append(("p\(word)_\(metric)_ms", .double(value)))
            }
        }
        if let spec {
            let fields = OrderedJSON.object(spec)
            print(Self.banner("Speculative Decoding", fill: "-"))
            if case .double(let rate)? = fields["spec_decode_acceptance_rate"] { line("Acceptance rate (%):", fixed(rate)) }
            if case .double(let length)? = fields["spec_decode_acceptance_length"] { line("Acceptance length:", fixed(length)) }
            for (label, key) in [("Drafts:", "spec_decode_num_drafts"), ("Draft tokens:", "spec_decode_draft_tokens"),
                                 ("Accepted tokens:", "spec_decode_accepted_tokens")] {
                if case .int(let count)? = fields[key] { line(label, String(count)) }
            }
            if case .array(let rates)? = fields["spec_decode_per_position_acceptance_rates"], !rates.isEmpty {
                print("Per-position acceptance (%):")
                for (i, rate) in rates.enumerated() { if case .double(let value) = rate { line("  Position \(i):", fixed(value * 100)) } }
            }
        }
        print(String(repeating: "=", count: 50))
        return .object(result)
    }

    /// vLLM's `p_word`: "99", "99.9".
    static func percentileWord(_ p: Double) -> String { p == p.rounded() ? String(Int(p)) : python(p) }

    /// A float as Python's `str` writes it (10.0, inf, 0.5).
    static func python(_ value: Double) -> String { value == .infinity ? "inf" : value.description }

    static func banner(_ title: String, fill: Character) -> String {
        let padding = max(0, 50 - title.count)
        let left = padding / 2
        return String(repeating: fill, count: left) + title + String(repeating: fill, count: padding - left)
    }

    static func isoNow() -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss.SSSSSS"
        return formatter.string(from: Date())
    }
}

extension ArrivalSchedule.RampUp {
    var name: String {
        switch self {
        case .linear: "linear"
        case .exponential: "exponential"
        }
    }
}

/// At most `limit` holders at once; the others wait in arrival order (vLLM's `asyncio.Semaphore`).
actor AsyncGate {
    private var free: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(limit: Int) { free = limit }

    func enter() async {
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func leave() {
        if waiting.isEmpty {
            free += 1
        } else {
            waiting.removeFirst().resume()
        }
    }
}

/// vLLM's speculative-decoding counters (`vllm:spec_decode_*_total` on /metrics), read before and after a run
/// so the result carries the run's acceptance figures when the server speculates.
struct SpecDecodeCounters: Sendable {
    var drafts = 0, draftTokens = 0, acceptedTokens = 0
    var acceptedPerPosition: [Int: Int] = [:]

    static func fetch(baseURL: String, http: HTTPClient) async -> SpecDecodeCounters? {
        guard let response = try? await http.execute(HTTPClientRequest(url: baseURL + "/metrics"), timeout: .seconds(30)),
            response.status == .ok, let body = try? await response.body.collect(upTo: 64 << 20)
        else { return nil }
        return parse(String(decoding: body.readableBytesView, as: UTF8.self))
    }

    static func parse(_ text: String) -> SpecDecodeCounters? {
        var counters = SpecDecodeCounters()
        var found = false
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            guard line.hasPrefix("vllm:spec_decode"), let space = line.lastIndex(of: " ") else { continue }
            let name = String(line.prefix { $0 != "{" && $0 != " " })
            guard name.hasSuffix("_total"), let value = Double(line[line.index(after: space)...]) else { continue }
            found = true
            if name.contains("num_drafts") {
                counters.drafts += Int(value)
            } else if name.contains("num_draft_tokens") {
                counters.draftTokens += Int(value)
            } else if name.contains("num_accepted_tokens_per_pos") {
                if let range = line.range(of: "position=\""), let end = line[range.upperBound...].firstIndex(of: "\""),
                    let position = Int(line[range.upperBound..<end])
                {
                    counters.acceptedPerPosition[position, default: 0] += Int(value)
                }
            } else if name.contains("num_accepted_tokens") {
                counters.acceptedTokens += Int(value)
            }
        }
        return found ? counters : nil
    }

    /// vLLM's `spec_decode_*` result fields of the run, or nil when the server did not speculate.
    static func delta(_ before: SpecDecodeCounters?, _ after: SpecDecodeCounters?) -> [(String, OrderedJSON)]? {
        guard let before, let after else { return nil }
        let drafts = after.drafts - before.drafts
        let draftTokens = after.draftTokens - before.draftTokens
        let accepted = after.acceptedTokens - before.acceptedTokens
        guard draftTokens > 0 else { return nil }
        var perPosition: [OrderedJSON] = []
        if drafts > 0 {
            for position in Set(before.acceptedPerPosition.keys).union(after.acceptedPerPosition.keys).sorted() {
                let was = before.acceptedPerPosition[position] ?? 0
                perPosition.append(.double(Double((after.acceptedPerPosition[position] ?? was) - was) / Double(drafts)))
            }
        }
        return [
            ("spec_decode_acceptance_rate", .double(Double(accepted) / Double(draftTokens) * 100)),
            ("spec_decode_acceptance_length", .double(drafts > 0 ? 1 + Double(accepted) / Double(drafts) : 0)),
            ("spec_decode_num_drafts", .int(drafts)),
            ("spec_decode_draft_tokens", .int(draftTokens)),
            ("spec_decode_accepted_tokens", .int(accepted)),
            ("spec_decode_per_position_acceptance_rates", .array(perPosition)),
        ]
    }
}

/// "  37/500 [00:04<00:48, 9.12 req/s]" on standard error, redrawn at most ten times a second.
final class ProgressBar: @unchecked Sendable {
    private let lock = NSLock()
    private let total: Int
    private let start = monotonicSeconds()
    private var done = 0
    private var lastDrawn = 0.0

    init(total: Int) { self.total = total }

    func advance() {
        lock.lock()
        defer { lock.unlock() }
        done += 1
        let now = monotonicSeconds()
        if now - lastDrawn >= 0.1 || done == total {
            lastDrawn = now
            draw(now)
        }
    }

    func finish() {
        lock.lock()
        defer { lock.unlock() }
        draw(monotonicSeconds())
        FileHandle.standardError.write(Data("\n".utf8))
    }

    private func draw(_ now: Double) {
        let elapsed = now - start
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let remaining = rate > 0 ? Double(total - done) / rate : 0
        func clock(_ seconds: Double) -> String { String(format: "%02d:%02d", Int(seconds) / 60, Int(seconds) % 60) }
        let width = 30, filled = total > 0 ? width * done / total : width
        let bar = String(repeating: "█", count: filled) + String(repeating: " ", count: width - filled)
        let percent = total > 0 ? 100 * done / total : 100
        let text = "\r\(String(format: "%3d", percent))%|\(bar)| \(done)/\(total) [\(clock(elapsed))<\(clock(remaining)), "
            + "\(String(format: "%.2f", rate)) req/s]"
        FileHandle.standardError.write(Data(text.utf8))
    }
}
