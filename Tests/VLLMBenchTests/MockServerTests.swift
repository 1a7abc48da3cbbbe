import Foundation
import Hummingbird
import NIOCore
import Synchronization
import Testing
@testable import VLLMBench

/// An OpenAI-compatible server on loopback whose answers are known: completions stream one "tok" per
/// requested token (`gap` apart) and then usage; a prompt containing FAIL is refused with a 500, one containing
/// CUT ends its stream after two tokens without usage; chat answers and embeddings come from tables.
final class MockOpenAI: Sendable {
    struct State {
        var bodies: [JSONValueBox] = []
        var headers: [String: String] = [:]
        var inFlight = 0
        var mostInFlight = 0
        var answers: [String: String] = [:]
        var embeddings: [String: [Double]] = [:]
    }

    let state = Mutex(State())
    let gap: Duration

    init(gap: Duration = .milliseconds(2), answers: [String: String] = [:], embeddings: [String: [Double]] = [:]) {
        self.gap = gap
        state.withLock {
            $0.answers = answers
            $0.embeddings = embeddings
        }
    }

    private static func json(_ object: Any, status: HTTPResponse.Status = .ok) throws -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: object))))
    }

    private static func body(_ request: Request) async throws -> [String: Any] {
        let buffer = try await request.body.collect(upTo: 1 << 24)
        return try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any] ?? [:]
    }

    func serve<T: Sendable>(_ run: @Sendable (String) async throws -> T) async throws -> T {
        let router = Router()
        router.get("/v1/models") { _, _ in try Self.json(["object": "list", "data": [["id": "mock-model", "root": "/models/mock"]]]) }
        router.post("/v1/completions") { request, _ -> Response in
            let body = try await Self.body(request)
            let prompt = body["prompt"] as? String ?? ""
            let boxed = JSONValueBox(body)
            self.state.withLock { state in
                state.bodies.append(boxed)
                state.headers[prompt] = request.headers[.init("x-request-id")!] ?? ""
            }
            if prompt.contains("FAIL") {
                return try Self.json(["error": ["message": "mock failure for \(prompt)", "type": "InternalServerError", "code": 500]],
                                     status: .internalServerError)
            }
            let count = body["max_tokens"] as? Int ?? 1
            let cut = prompt.contains("CUT")
            let gap = self.gap
            return Response(status: .ok, headers: [.contentType: "text/event-stream"], body: ResponseBody { writer in
                self.state.withLock { state in
                    state.inFlight += 1
                    state.mostInFlight = max(state.mostInFlight, state.inFlight)
                }
                for i in 0..<(cut ? 2 : count) {
                    try await Task.sleep(for: gap)
                    try await writer.write(ByteBuffer(string: "data: {\"choices\": [{\"index\": 0, \"text\": \"tok\(i) \"}]}\n\n"))
                }
                if !cut {
                    try await writer.write(ByteBuffer(string:
                        "data: {\"choices\": [], \"usage\": {\"prompt_tokens\": 11, \"completion_tokens\": \(count)}}\n\ndata: [DONE]\n\n"))
                }
                self.state.withLock { $0.inFlight -= 1 }
                try await writer.finish(nil)
            })
        }
        router.post("/v1/chat/completions") { request, _ -> Response in
            let body = try await Self.body(request)
            let question = ((body["messages"] as? [[String: Any]])?.last?["content"] as? String) ?? ""
            guard let answer = self.state.withLock({ $0.answers[question] }) else {
                return try Self.json(["error": ["message": "no answer for \(question)", "type": "BadRequestError", "code": 400]],
                                     status: .badRequest)
            }
            return try Self.json([
                "choices": [["index": 0, "message": ["role": "assistant", "content": answer], "finish_reason": "stop"]],
                "usage": ["prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7],
            ])
        }
        router.post("/v1/embeddings") { request, _ -> Response in
            let body = try await Self.body(request)
            let inputs = body["input"] as? [String] ?? []
            var data: [[String: Any]] = []
            for (index, text) in inputs.enumerated() {
                guard let vector = self.state.withLock({ $0.embeddings[text] }) else {
                    return try Self.json(["error": ["message": "unknown text", "type": "BadRequestError", "code": 400]], status: .badRequest)
                }
                data.append(["object": "embedding", "index": index, "embedding": vector])
            }
            // Reversed, as a server may order them: the client must read `index`.
            return try Self.json(["object": "list", "data": Array(data.reversed())])
        }
        let port = Mutex<Int?>(nil)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in port.withLock { $0 = channel.localAddress?.port } })
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await app.runService(); return nil }
            while port.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(10)) }
            let result = try await run("http://127.0.0.1:\(port.withLock { $0 }!)")
            group.cancelAll()
            return result
        }
    }
}

struct MockServerTests {
    static func requests(_ prompts: [String], outputLen: Int = 5) -> [SampleRequest] {
        prompts.enumerated().map { SampleRequest(prompt: $0.element, promptLen: 7, expectedOutputLen: outputLen, requestId: "id-\($0.offset)") }
    }

    @Test func aRunTimesEveryRequestAndCountsFailures() async throws {
        let server = MockOpenAI()
        let prompts = (0..<12).map { $0 == 3 ? "please FAIL" : $0 == 7 ? "CUT short" : "prompt \($0)" }
        let (result, _) = try await server.serve { url in
            var options = ServeBenchmark.Options(baseURL: url)
            options.model = "mock-model"
            options.ignoreEos = true
            options.maxConcurrency = 4
            options.extraBody = ["temperature": JSONValueBox(0)]
            options.metricPercentiles = [50, 99]
            options.percentileMetrics = ["ttft", "tpot", "itl", "e2el"]
            let printed = Mutex<[String]>([])
            let result = try await ServeBenchmark(options: options).run(Self.requests(prompts), countTokens: nil) { line in
                printed.withLock { $0.append(line) }
            }
            return (result, printed.withLock { $0 })
        }
        #expect(result["completed"] == .int(11))
        #expect(result["failed"] == .int(1))
        guard case .array(let errors) = result["errors"]!, case .array(let outputLens) = result["output_lens"]!,
            case .array(let inputLens) = result["input_lens"]!, case .array(let itls) = result["itls"]!
        else { Issue.record("lists missing"); return }
        #expect(errors[3] == .string("HTTP 500 Internal Server Error: mock failure for please FAIL"))
        #expect(errors.enumerated().allSatisfy { $0.offset == 3 || $0.element == .string("") })
        // Usage gives 5 tokens and 11 prompt tokens; the cut stream had no usage: its output counts as 1 (no tokenizer).
        #expect(outputLens == (0..<12).map { $0 == 3 ? .int(0) : $0 == 7 ? .int(1) : .int(5) })
        #expect(inputLens == (0..<12).map { $0 == 3 || $0 == 7 ? .int(7) : .int(11) })
        #expect(result["total_output_tokens"] == .int(10 * 5 + 1))
        #expect(result["total_input_tokens"] == .int(10 * 11 + 7))
        if case .array(let gaps) = itls[0] { #expect(gaps.count == 4) }
        let bodies = server.state.withLock { $0.bodies }.map { $0.value as! [String: Any] }
        #expect(bodies.count == 12)
        for body in bodies {
            #expect(body["model"] as? String == "mock-model")
            #expect(body["stream"] as? Bool == true)
            #expect(body["ignore_eos"] as? Bool == true)
            #expect(body["max_tokens"] as? Int == 5)
            #expect(body["temperature"] as? Int == 0)
            #expect((body["stream_options"] as? [String: Any])?["include_usage"] as? Bool == true)
        }
        #expect(server.state.withLock { $0.headers["prompt 5"] } == "id-5")
        #expect(server.state.withLock { $0.mostInFlight } <= 4)
        // Figures hang together: throughput × duration = tokens; percentiles ordered.
        guard case .double(let duration) = result["duration"]!, case .double(let output) = result["output_throughput"]!,
            case .double(let p50) = result["p50_itl_ms"]!, case .double(let p99) = result["p99_itl_ms"]!,
            case .double(let ttft) = result["median_ttft_ms"]!
        else { Issue.record("figures missing"); return }
        #expect(close(output * duration, 51, relative: 1e-9))
        #expect(p50 <= p99)
        #expect(ttft >= 2)  // the mock waits 2 ms before the first token
    }

    @Test func aRefusingServerStillCompletesTheRun() async throws {
        // Nothing listens on this port: every request fails with the connection error, and the run reports them.
        var options = ServeBenchmark.Options(baseURL: "http://127.0.0.1:9")
        options.model = "absent"
        options.connectTimeout = 0.5
        let result = try await ServeBenchmark(options: options).run(Self.requests(["a", "b", "c"]), countTokens: nil) { _ in }
        #expect(result["completed"] == .int(0))
        #expect(result["failed"] == .int(3))
        #expect(result["request_throughput"] == .double(0))
        // Endpoints that are not the backend's are refused before anything is sent.
        options.endpoint = "/v1/embeddings"
        await #expect(throws: BenchError.self) {
            try await ServeBenchmark(options: options).run(Self.requests(["a"]), countTokens: nil) { _ in }
        }
    }

    /// The saved file has the keys of the file vLLM 0.26.0's own `bench serve` saved on the H200
    /// (docs/gpu-runs/2026-11-30e, `--save-result` at rate inf), in the same order.
    @Test func savedResultsHaveVLLMsKeys() async throws {
        let golden = try Data(contentsOf: Paths.goldens.appendingPathComponent("vllm-result.json"))
        let vllmKeys = try #require(try JSONSerialization.jsonObject(with: golden) as? [String: Any])
        // JSONSerialization loses the order: read the keys in document order from the text.
        let text = String(decoding: golden, as: UTF8.self)
        let ordered = vllmKeys.keys.sorted { text.range(of: "\"\($0)\": ")!.lowerBound < text.range(of: "\"\($1)\": ")!.lowerBound }
        let run = try await MockOpenAI().serve { url in
            var options = ServeBenchmark.Options(baseURL: url)
            options.model = "llama"
            return try await ServeBenchmark(options: options).run(Self.requests(["a", "b"]), countTokens: nil) { _ in }
        }
        let file = BenchResultFile(
            backend: "openai", label: nil, modelId: "llama", tokenizerId: "/tmp/l8", numPrompts: 500, requestRate: .infinity,
            burstiness: 1, maxConcurrency: nil, rampUp: nil)
        let ours = file.result(run: run, date: BenchResultFile.dateStamp(), detailed: false)
        #expect(ours.keys == ordered)
        for key in ["date", "endpoint_type", "backend", "label", "model_id", "tokenizer_id", "num_prompts", "request_rate",
                    "burstiness", "max_concurrency", "request_goodput"] {
            let theirs = text.range(of: "\"\(key)\": ").map { String(text[$0.upperBound...].prefix { $0 != "," }) }
            let mine = ours.serialized().range(of: "\"\(key)\": ").map { String(ours.serialized()[$0.upperBound...].prefix { $0 != "," }) }
            if key != "date" { #expect(mine == theirs, "\(key)") }
        }
    }

    @Test func theFirstModelIsTheServers() async throws {
        let model = try await MockOpenAI().serve { url in try await ServeBenchmark.firstModel(baseURL: url, headers: []) }
        #expect(model.id == "mock-model" && model.root == "/models/mock")
    }

    @Test func resultFilesCarryVLLMsSettingsFirst() throws {
        var file = BenchResultFile(
            backend: "openai", label: nil, modelId: "org/Model-8B", tokenizerId: "org/Model-8B", numPrompts: 3, requestRate: .infinity,
            burstiness: 1, maxConcurrency: 8, rampUp: nil)
        file.metadata = [("tp", "2")]
        let run = OrderedJSON.object([("duration", .double(1.5)), ("completed", .int(3)), ("ttfts", .array([.double(0.1)]))])
        let result = file.result(run: run, date: "20261130-201500", detailed: false)
        #expect(result.keys == ["date", "endpoint_type", "backend", "label", "model_id", "tokenizer_id", "num_prompts", "tp",
                                "request_rate", "burstiness", "max_concurrency", "duration", "completed"])
        #expect(result["request_rate"] == .string("inf"))
        #expect(file.result(run: run, date: "d", detailed: true).keys.last == "ttfts")
        #expect(file.path(filename: nil, directory: "/tmp/r", date: "20261130-201500")
            == "/tmp/r/openai-infqps-concurrency8-Model-8B-20261130-201500.json")
        file.requestRate = 10
        file.maxConcurrency = nil
        #expect(file.path(filename: nil, directory: nil, date: "d") == "openai-10.0qps-Model-8B-d.json")
        #expect(file.path(filename: "x.json", directory: "out", date: "d") == "out/x.json")
        #expect(OrderedJSON.object([("a", .string("é\"\n")), ("b", .double(.infinity)), ("c", .null)]).serialized()
            == "{\"a\": \"\\u00e9\\\"\\n\", \"b\": Infinity, \"c\": null}")
    }

    /// Accuracy and mean cosine equal numpy's from the same embeddings (scripts/make_bench_goldens.py), and a line
    /// whose request fails is counted, not scored.
    @Test func qualityScoresAsNumpyComputesThem() async throws {
        let golden = try Paths.golden("quality.json")
        let lines = try #require(golden["lines"] as? [[String: Any]])
        let expected = try #require(golden["expected"] as? [String: Any])
        var answers: [String: String] = [:], embeddings: [String: [Double]] = [:]
        var dataset: [QualityBenchmark.Line] = []
        for line in lines {
            let messages = line["messages"] as! [[String: Any]]
            answers[messages.last!["content"] as! String] = line["answer"] as? String
            embeddings[line["answer"] as! String] = line["answer_embedding"] as? [Double]
            embeddings[line["reference"] as! String] = line["reference_embedding"] as? [Double]
            dataset.append(QualityBenchmark.Line(messages: JSONValueBox(messages), reference: line["reference"] as! String))
        }
        let unanswerable = QualityBenchmark.Line(
            messages: JSONValueBox([["role": "user", "content": "a question the server refuses"]]), reference: "reference answer number 0")
        let server = MockOpenAI(answers: answers, embeddings: embeddings)
        let threshold = golden["threshold"] as! Double
        let lineSet = dataset
        let (results, withFailure) = try await server.serve { url in
            var options = QualityBenchmark.Options(baseURL: url, model: "mock-model", embeddingBaseURL: url, embeddingModel: "embedder")
            options.threshold = threshold
            options.concurrency = 3
            let benchmark = QualityBenchmark(options: options)
            return (try await benchmark.run(lineSet), try await benchmark.run(lineSet + [unanswerable]))
        }
        let cosines = expected["cosines"] as! [Double]
        for (result, cosine) in zip(results, cosines) { #expect(close(result.cosine ?? .nan, cosine, relative: 1e-12)) }
        var options = QualityBenchmark.Options(baseURL: "", model: "m", embeddingBaseURL: "", embeddingModel: "e")
        options.threshold = threshold
        let summary = QualityBenchmark(options: options).summarize(results, duration: 1) { _ in }
        guard case .double(let accuracy) = summary["accuracy"]!, case .double(let mean) = summary["mean_cosine"]! else {
            Issue.record("summary fields missing")
            return
        }
        #expect(close(accuracy, expected["accuracy"] as! Double, relative: 1e-12))
        #expect(close(mean, expected["mean_cosine"] as! Double, relative: 1e-12))
        #expect(results.allSatisfy { $0.responseTime != nil && $0.completionTokens == 4 && $0.error == nil })

        let failed = try #require(withFailure.last)
        #expect(failed.error == "chat: HTTP 400 Bad Request: no answer for a question the server refuses")
        #expect(failed.cosine == nil && !failed.passed)
        let withFailureSummary = QualityBenchmark(options: options).summarize(withFailure, duration: 1) { _ in }
        #expect(withFailureSummary["failed"] == .int(1))
        #expect(withFailureSummary["accuracy"] == .double(Double(results.filter(\.passed).count) / Double(lines.count + 1)))
    }

    @Test func qualityDatasetsNameTheirBadLines() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("quality-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: url) }
        func refusal(_ text: String) throws -> String {
            try Data(text.utf8).write(to: url)
            do {
                _ = try QualityBenchmark.loadDataset(path: url.path)
                return "accepted"
            } catch { return "\(error)".replacingOccurrences(of: url.path, with: "F") }
        }
        let good = "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"reference\": \"hello\"}"
        #expect(try refusal(good + "\n") == "accepted")
        #expect(try refusal(good + "\n{\"messages\": [], \"reference\": \"x\"}\n")
            == "F:2: \"messages\" must be a non-empty array of {\"role\", \"content\"} objects")
        #expect(try refusal("{\"messages\": [{\"content\": \"hi\"}], \"reference\": \"x\"}") == "F:1: messages[0] needs a string \"role\" and a \"content\"")
        #expect(try refusal("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}") == "F:1: \"reference\" must be a string (the expected answer)")
        #expect(try refusal("not json") == "F:1: not a JSON object")
        #expect(try refusal("\n\n") == "F has no lines")
    }
}
