import AsyncHTTPClient
import Foundation
import NIOCore

/// `swift-vllm bench quality`: answers judged by meaning. Each dataset line is a conversation and a reference
/// answer; the conversation goes to a chat endpoint, the answer and the reference to an embeddings endpoint
/// (any /v1/embeddings server, this project's `--task embed` one included), and the answer passes when the cosine
/// of the two embeddings reaches the threshold. Reported: accuracy (passing lines over all lines: a line whose
/// request failed does not pass), mean cosine over the scored lines, and the chat responses' mean and p99 time.
public struct QualityBenchmark: Sendable {
    public struct Options: Sendable {
        public var baseURL: String
        public var model: String
        public var embeddingBaseURL: String
        public var embeddingModel: String
        public var threshold = 0.85
        public var concurrency = 8
        public var temperature = 0.0
        public var maxTokens = 512
        public var seed: Int?
        /// Sent as `Authorization: Bearer` to the chat server and (unless `embeddingAPIKey`) the embeddings server.
        public var apiKey: String?
        public var embeddingAPIKey: String?
        public var showProgress = false

        public init(baseURL: String, model: String, embeddingBaseURL: String, embeddingModel: String) {
            self.baseURL = baseURL
            self.model = model
            self.embeddingBaseURL = embeddingBaseURL
            self.embeddingModel = embeddingModel
        }
    }

    /// One dataset line: `{"messages": [...], "reference": "..."}`.
    public struct Line: Sendable {
        public var messages: JSONValueBox
        public var reference: String
    }

    /// One line's outcome (a JSONL line of the per-line results).
    public struct LineResult: Sendable {
        public var index: Int
        public var answer: String?
        public var reference: String
        public var cosine: Double?
        public var passed: Bool
        /// Seconds from sending the chat request to its whole answer.
        public var responseTime: Double?
        public var promptTokens: Int?
        public var completionTokens: Int?
        public var error: String?

        public var json: OrderedJSON {
            func optional<T>(_ value: T?, _ wrap: (T) -> OrderedJSON) -> OrderedJSON { value.map(wrap) ?? .null }
            return .object([
                ("index", .int(index)), ("answer", optional(answer, OrderedJSON.string)), ("reference", .string(reference)),
                ("cosine", optional(cosine, OrderedJSON.double)), ("passed", .bool(passed)),
                ("response_time_s", optional(responseTime, OrderedJSON.double)),
                ("prompt_tokens", optional(promptTokens, OrderedJSON.int)),
                ("completion_tokens", optional(completionTokens, OrderedJSON.int)), ("error", optional(error, OrderedJSON.string)),
            ])
        }
    }

    public let options: Options

    public init(options: Options) { self.options = options }

    /// Reads a JSONL dataset; a line that is not `{"messages": [{"role", "content"}, ...], "reference": string}` is an
    /// error naming its line number.
    public static func loadDataset(path: String) throws -> [Line] {
        var lines: [Line] = []
        for (number, object) in try readJSONLines(path, what: "the quality dataset") {
            let place = "\(path):\(number)"
            guard let messages = object["messages"] as? [[String: Any]], !messages.isEmpty else {
                throw BenchError.dataset("\(place): \"messages\" must be a non-empty array of {\"role\", \"content\"} objects")
            }
            for (i, message) in messages.enumerated() where !(message["role"] is String) || message["content"] == nil {
                throw BenchError.dataset("\(place): messages[\(i)] needs a string \"role\" and a \"content\"")
            }
            guard let reference = object["reference"] as? String else {
                throw BenchError.dataset("\(place): \"reference\" must be a string (the expected answer)")
            }
            lines.append(Line(messages: JSONValueBox(messages), reference: reference))
        }
        guard !lines.isEmpty else { throw BenchError.dataset("\(path) has no lines") }
        return lines
    }

    /// Runs every line (at most `concurrency` at once) and returns the per-line results, in dataset order.
    public func run(_ lines: [Line]) async throws -> [LineResult] {
        guard options.concurrency > 0 else { throw BenchError.invalidOption("--concurrency must be positive") }
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: options.concurrency)
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let progress = options.showProgress ? ProgressBar(total: lines.count) : nil
        var results = [LineResult?](repeating: nil, count: lines.count)
        await withTaskGroup(of: LineResult.self) { group in
            var next = 0
            func startNext() {
                guard next < lines.count else { return }
                let index = next
                next += 1
                group.addTask { await self.score(lines[index], index: index, http: http) }
            }
            for _ in 0..<options.concurrency { startNext() }
            for await result in group {
                results[result.index] = result
                progress?.advance()
                startNext()
            }
        }
        progress?.finish()
        try? await http.shutdown()
        return results.map { $0! }
    }

    private func score(_ line: Line, index: Int, http: HTTPClient) async -> LineResult {
        var result = LineResult(index: index, reference: line.reference, passed: false)
        var body: [String: Any] = [
            "model": options.model, "messages": line.messages.value, "temperature": options.temperature,
            "max_tokens": options.maxTokens,
        ]
        if let seed = options.seed { body["seed"] = seed }
        let start = monotonicSeconds()
        let chat: [String: Any]
        do {
            chat = try await post(body, to: options.baseURL + "/v1/chat/completions", key: options.apiKey, http: http)
        } catch {
            result.error = "chat: \(error)"
            return result
        }
        result.responseTime = monotonicSeconds() - start
        let usage = chat["usage"] as? [String: Any]
        result.promptTokens = usage?["prompt_tokens"] as? Int
        result.completionTokens = usage?["completion_tokens"] as? Int
        guard let message = ((chat["choices"] as? [[String: Any]])?.first?["message"]) as? [String: Any] else {
            result.error = "chat: the answer has no choices[0].message"
            return result
        }
        let answer = message["content"] as? String ?? ""
        result.answer = answer
        do {
            let embedded = try await post(
                ["model": options.embeddingModel, "input": [answer, line.reference], "encoding_format": "float"],
                to: options.embeddingBaseURL + "/v1/embeddings", key: options.embeddingAPIKey ?? options.apiKey, http: http)
            guard let data = embedded["data"] as? [[String: Any]], data.count == 2 else {
                throw BenchError.server("expected two embeddings in \"data\"")
            }
            let byIndex = Dictionary(data.enumerated().map { ($0.element["index"] as? Int ?? $0.offset, $0.element) }) { a, _ in a }
            guard let a = (byIndex[0]?["embedding"] as? [NSNumber])?.map(\.doubleValue),
                let b = (byIndex[1]?["embedding"] as? [NSNumber])?.map(\.doubleValue), a.count == b.count, !a.isEmpty
            else {
                throw BenchError.server("the embeddings are not two float lists of one length")
            }
            let cosine = Self.cosine(a, b)
            result.cosine = cosine
            result.passed = cosine >= options.threshold
        } catch {
            result.error = "embeddings: \(error)"
        }
        return result
    }

    /// The cosine of two vectors (0 when either is all zeros).
    public static func cosine(_ a: [Double], _ b: [Double]) -> Double {
        var dot = 0.0, na = 0.0, nb = 0.0
        for i in a.indices {
            dot += a[i] * b[i]
            na += a[i] * a[i]
            nb += b[i] * b[i]
        }
        return na > 0 && nb > 0 ? dot / (na.squareRoot() * nb.squareRoot()) : 0
    }

    private func post(_ body: [String: Any], to url: String, key: String?, http: HTTPClient) async throws -> [String: Any] {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let key, !key.isEmpty { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
        request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))
        let response = try await http.execute(request, timeout: .minutes(30))
        guard response.status == .ok else { throw BenchError.server(await OpenAIStreamClient.describeFailure(response)) }
        let data = try await response.body.collect(upTo: 256 << 20)
        guard let object = (try? JSONSerialization.jsonObject(with: Data(data.readableBytesView))) as? [String: Any] else {
            throw BenchError.server("the answer is not a JSON object")
        }
        return object
    }

    /// The run's summary: vLLM-style report lines through `print`, and the same figures as JSON.
    public func summarize(_ results: [LineResult], duration: Double, print: (String) -> Void) -> OrderedJSON {
        let scored = results.compactMap(\.cosine)
        let times = results.compactMap(\.responseTime)
        let failed = results.filter { $0.error != nil }.count
        let passed = results.filter(\.passed).count
        let accuracy = Double(passed) / Double(max(results.count, 1))
        let meanCosine = Stats.mean(scored)
        func line(_ label: String, _ value: String) { print(ServeBenchmark.reportLine(label, value)) }
        print(ServeBenchmark.banner(" Quality Benchmark Result ", fill: "="))
        line("Lines:", String(results.count))
        line("Scored lines:", String(scored.count))
        line("Failed lines:", String(failed))
        line("Threshold (cosine):", String(format: "%.2f", options.threshold))
        line("Accuracy:", String(format: "%.4f", accuracy))
        line("Mean cosine:", String(format: "%.4f", meanCosine))
        line("Mean response time (s):", String(format: "%.3f", Stats.mean(times)))
        line("P99 response time (s):", String(format: "%.3f", Stats.percentile(times, 99)))
        line("Benchmark duration (s):", String(format: "%.2f", duration))
        print(String(repeating: "=", count: 50))
        for result in results where result.error != nil {
            print("Line \(result.index): \(result.error!)")
        }
        return .object([
            ("model", .string(options.model)), ("embedding_model", .string(options.embeddingModel)),
            ("threshold", .double(options.threshold)), ("num_lines", .int(results.count)), ("scored", .int(scored.count)),
            ("failed", .int(failed)), ("passed", .int(passed)), ("accuracy", .double(accuracy)), ("mean_cosine", .double(meanCosine)),
            ("mean_response_time_s", .double(Stats.mean(times))), ("median_response_time_s", .double(Stats.median(times))),
            ("p99_response_time_s", .double(Stats.percentile(times, 99))), ("duration", .double(duration)),
        ])
    }
}
