import Foundation
import Testing
import VLLMCore
import VLLMEngine
@testable import VLLMServer

/// `/metrics`: byte-for-byte what prometheus_client renders (golden from
/// scripts/make_server_goldens.py), and counts that agree with the requests served.
@Suite struct MetricsTests {
    static let goldens = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Goldens")

    @Test func rendersAsPrometheusClientDoes() throws {
        let golden = try String(contentsOf: Self.goldens.appendingPathComponent("metrics.txt"), encoding: .utf8)
        let metrics = ServerMetrics(modelName: "demo-model")
        // The scenario of make_server_goldens.py.
        for (tokens, seconds) in [(1_234_000, 0.0005), (500, 0.03), (67, 0.3), (0, 3000.0)] {
            metrics.recordFirstToken(promptTokens: tokens, timeToFirstToken: seconds)
        }
        metrics.recordTokens(40, interTokenLatency: nil)
        metrics.recordTokens(2, interTokenLatency: 0.02)
        metrics.recordTokens(0, interTokenLatency: 0.5)
        for (reason, latency, queued) in [
            (FinishReasonName.stop, 0.4, 0.0), (.stop, 12.0, 0.31), (.length, 10000.0, 0.5), (.abort, 0.3, 0.3),
        ] {
            metrics.recordFinished(reason: reason.value, e2eLatency: latency, queueTime: queued)
        }
        var stats = EngineStats()
        stats.numRunning = 2
        stats.numWaiting = 1
        stats.kvCacheUsage = 0.25
        stats.prefixCacheQueries = 100
        stats.prefixCacheHits = 40
        stats.numPreemptions = 3
        let rendered = metrics.render(stats: stats)
        let goldenLines = golden.split(separator: "\n", omittingEmptySubsequences: false)
        let renderedLines = rendered.split(separator: "\n", omittingEmptySubsequences: false)
        for (index, (want, got)) in zip(goldenLines, renderedLines).enumerated() where want != got {
            Issue.record("line \(index + 1): want \(want), got \(got)")
            break
        }
        #expect(rendered == golden)
    }

    /// `--data-parallel-size 2`: the engines' gauges and counters one sample per replica, as prometheus_client
    /// renders vLLM's per-engine children (golden: make_server_goldens.py's second registry).
    @Test func replicasGetOneSampleEach() throws {
        let golden = try String(contentsOf: Self.goldens.appendingPathComponent("metrics-dp2.txt"), encoding: .utf8)
        var first = EngineStats(), second = EngineStats()
        (first.numRunning, first.numWaiting, first.kvCacheUsage) = (2, 1, 0.25)
        (first.prefixCacheQueries, first.prefixCacheHits, first.numPreemptions) = (100, 40, 3)
        (second.numRunning, second.numWaiting, second.kvCacheUsage) = (5, 0, 0.5)
        (second.prefixCacheQueries, second.prefixCacheHits, second.numPreemptions) = (10, 2, 0)
        let rendered = ServerMetrics(modelName: "demo-model").render(replicas: [first, second])
        #expect(rendered.hasPrefix(golden), "\(rendered.prefix(golden.count))")
    }

    @Test func goFloatMatchesPrometheusClient() {
        #expect(goFloat(0) == "0.0")
        #expect(goFloat(2.5) == "2.5")
        #expect(goFloat(1e-05) == "1e-05")
        #expect(goFloat(123_456.0) == "123456.0")
        #expect(goFloat(1_234_567.0) == "1.234567e+06")
        #expect(goFloat(10_000_000.0) == "1e+07")
        #expect(goFloat(.infinity) == "+Inf")
    }

    @Test func countsAgreeWithRequestsServed() async throws {
        let harness = TestHarness()
        try await harness.test { client in
            for _ in 0..<3 {
                _ = try await client.post("/v1/completions", #"{"prompt": "abc", "max_tokens": 5}"#)
            }
            _ = try await client.post("/v1/completions", #"{"prompt": "abcd", "max_tokens": 9, "stop": "c"}"#)
            _ = try await client.post("/v1/completions", #"{"prompt": "ab", "max_tokens": 2, "stream": true}"#)
            let page = try await client.get("/metrics").text
            let labels = #"{engine="0",model_name="fake-model"}"#
            // Prompts: 3 × 4 + 5 + 3 tokens; outputs: 3 × 5 + 3 + 2.
            #expect(page.contains("vllm:prompt_tokens_total\(labels) 20.0\n"))
            #expect(page.contains("vllm:generation_tokens_total\(labels) 20.0\n"))
            #expect(page.contains(#"vllm:request_success_total{engine="0",finished_reason="length",model_name="fake-model"} 4.0"#))
            #expect(page.contains(#"vllm:request_success_total{engine="0",finished_reason="stop",model_name="fake-model"} 1.0"#))
            #expect(page.contains("vllm:time_to_first_token_seconds_count\(labels) 5.0\n"))
            #expect(page.contains("vllm:e2e_request_latency_seconds_count\(labels) 5.0\n"))
            #expect(page.contains("vllm:request_queue_time_seconds_count\(labels) 5.0\n"))
            #expect(page.contains("vllm:inter_token_latency_seconds_count\(labels) 15.0\n"))
            #expect(page.contains("vllm:num_requests_running\(labels) 0.0\n"))
            #expect(page.contains("vllm:kv_cache_usage_perc\(labels) 0.0\n"))
        }
    }
}

/// Finish reasons by name, so the scenario above reads like the Python one.
enum FinishReasonName {
    case stop, length, abort

    var value: VLLMCore.FinishReason {
        switch self {
        case .stop: .stop
        case .length: .length
        case .abort: .abort
        }
    }
}
