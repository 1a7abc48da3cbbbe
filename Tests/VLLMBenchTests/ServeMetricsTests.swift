import Foundation
import Testing
@testable import VLLMBench

/// The run's figures against vLLM 0.26.0's own `calculate_metrics`, the stream splitter against vLLM's
/// `StreamedResponseHandler`, and the arrival schedule's properties.
struct ServeMetricsTests {
    @Test func metricsMatchVLLMsCalculateMetrics() throws {
        let golden = try Paths.golden("metrics.json")
        let cases = try #require(golden["cases"] as? [[String: Any]])
        #expect(cases.count == 5)
        for (index, item) in cases.enumerated() {
            let outcomes = try #require(item["outcomes"] as? [[String: Any]]).map { o -> RequestOutcome in
                var outcome = RequestOutcome()
                outcome.success = o["success"] as! Bool
                outcome.latency = o["latency"] as! Double
                outcome.outputTokens = o["output_tokens"] as! Int
                outcome.ttft = o["ttft"] as! Double
                outcome.itl = o["itl"] as! [Double]
                outcome.promptLen = o["prompt_len"] as! Int
                outcome.startTime = o["start_time"] as! Double
                outcome.generatedText = o["generated_text"] as! String
                outcome.error = o["error"] as! String
                return outcome
            }
            let goodput = GoodputObjectives(bounds: (item["goodput"] as! [String: Any]).mapValues { ($0 as! NSNumber).doubleValue })
            let metrics = ServeMetrics(outcomes: outcomes, duration: item["duration"] as! Double, goodput: goodput)
            let expected = try #require(item["expected"] as? [String: Any])
            func number(_ key: String) -> Double { (expected[key] as! NSNumber).doubleValue }
            #expect(metrics.completed == expected["completed"] as! Int, "case \(index)")
            #expect(metrics.failed == expected["failed"] as! Int, "case \(index)")
            #expect(metrics.totalInput == expected["total_input"] as! Int, "case \(index)")
            #expect(metrics.totalOutput == expected["total_output"] as! Int, "case \(index)")
            #expect(metrics.outputLens == expected["output_lens"] as! [Int], "case \(index)")
            #expect(metrics.maxConcurrentRequests == expected["max_concurrent_requests"] as! Int, "case \(index)")
            let pairs: [(Double, String)] = [
                (metrics.requestThroughput, "request_throughput"), (metrics.requestGoodput, "request_goodput"),
                (metrics.outputThroughput, "output_throughput"), (metrics.totalTokenThroughput, "total_token_throughput"),
                (metrics.maxOutputTokensPerSecond, "max_output_tokens_per_s"),
            ]
            for (ours, key) in pairs { #expect(close(ours, number(key)), "case \(index) \(key): \(ours) vs \(number(key))") }
            for metric in ["ttft", "tpot", "itl", "e2el"] {
                #expect(close(metrics.mean(metric), number("mean_\(metric)_ms")), "case \(index) mean \(metric)")
                #expect(close(metrics.median(metric), number("median_\(metric)_ms")), "case \(index) median \(metric)")
                #expect(close(metrics.std(metric), number("std_\(metric)_ms"), relative: 1e-7), "case \(index) std \(metric)")
                for pair in expected["percentiles_\(metric)_ms"] as! [[Double]] {
                    let ours = metrics.percentile(metric, pair[0])
                    #expect(close(ours, pair[1]), "case \(index) p\(pair[0]) \(metric): \(ours) vs \(pair[1])")
                }
            }
        }
    }

    @Test func streamSplitterMatchesVLLMsHandler() throws {
        let golden = try Paths.golden("sse.json")
        let cases = try #require(golden["cases"] as? [[String: Any]])
        #expect(cases.count > 10)
        for (index, item) in cases.enumerated() {
            let chunks = item["chunks"] as! [[Int]]
            let expected = item["messages_after_each_chunk"] as! [[String]]
            var splitter = ServerSentEventSplitter()
            for (chunk, messages) in zip(chunks, expected) {
                #expect(splitter.add(chunk.map(UInt8.init)) == messages, "case \(index)")
            }
        }
    }

    @Test func theSameSeedGivesTheSameSchedule() throws {
        let a = try ArrivalSchedule(count: 300, requestRate: 20, burstiness: 0.7, seed: 42)
        let b = try ArrivalSchedule(count: 300, requestRate: 20, burstiness: 0.7, seed: 42)
        let c = try ArrivalSchedule(count: 300, requestRate: 20, burstiness: 0.7, seed: 43)
        #expect(a == b)
        #expect(a.offsets != c.offsets)
        // vLLM rescales a fixed rate's offsets so the last request goes out at count / rate.
        #expect(close(a.offsets.last!, 300.0 / 20, relative: 1e-12))
        #expect(zip(a.offsets, a.offsets.dropFirst()).allSatisfy { $0 <= $1 })
    }

    @Test func infiniteRateSendsAtOnceAndInfiniteBurstinessEvenly() throws {
        #expect(try ArrivalSchedule(count: 5, requestRate: .infinity, seed: 0).offsets == [0, 0, 0, 0, 0])
        let even = try ArrivalSchedule(count: 4, requestRate: 2, burstiness: .infinity, seed: 0)
        for (offset, expected) in zip(even.offsets, [0.5, 1.0, 1.5, 2.0]) { #expect(close(offset, expected, relative: 1e-12)) }
        #expect(throws: BenchError.self) { try ArrivalSchedule(count: 5, requestRate: 0, seed: 0) }
        #expect(throws: BenchError.self) { try ArrivalSchedule(count: 5, requestRate: 1, burstiness: 0, seed: 0) }
    }

    /// Gamma gaps of shape k have a coefficient of variation 1/√k: Poisson arrivals (k = 1) vary as much as
    /// their mean, bursty ones (k < 1) more, even ones (k > 1) less.
    @Test(arguments: [0.25, 1.0, 4.0])
    func gapsFollowTheGammaDistribution(burstiness: Double) throws {
        let schedule = try ArrivalSchedule(count: 40_000, requestRate: 10, burstiness: burstiness, seed: 9)
        var gaps = [schedule.offsets[0]]
        for i in 1..<schedule.offsets.count { gaps.append(schedule.offsets[i] - schedule.offsets[i - 1]) }
        let mean = Stats.mean(gaps), std = Stats.std(gaps)
        #expect(close(mean, 0.1, relative: 1e-9))  // rescaled to the rate exactly
        #expect(close(std / mean, 1 / burstiness.squareRoot(), relative: 0.04), "CV \(std / mean)")
    }

    @Test func rampUpsMoveTheRateFromStartToEnd() throws {
        let linear = try ArrivalSchedule(count: 11, requestRate: .infinity, rampUp: .linear(startRPS: 1, endRPS: 11), seed: 1)
        #expect(linear.rates == (0...10).map { 1 + Double($0) })
        let exponential = try ArrivalSchedule(count: 3, requestRate: .infinity, rampUp: .exponential(startRPS: 2, endRPS: 8), seed: 1)
        #expect(exponential.rates.map { ($0 * 1e9).rounded() / 1e9 } == [2, 4, 8])
    }

    @Test func goodputObjectivesParseAsVLLMs() throws {
        #expect(try GoodputObjectives(parsing: ["ttft:500", "tpot:50.5"]).bounds == ["ttft": 500, "tpot": 50.5])
        #expect(throws: BenchError.self) { try GoodputObjectives(parsing: ["itl:5"]) }
        #expect(throws: BenchError.self) { try GoodputObjectives(parsing: ["ttft"]) }
        #expect(throws: BenchError.self) { try GoodputObjectives(parsing: ["ttft:-1"]) }
    }

    @Test func speculativeDecodingCountersAreReadFromMetrics() throws {
        let before = SpecDecodeCounters.parse("""
            # HELP vllm:spec_decode_num_drafts_total drafts
            vllm:spec_decode_num_drafts_total{model_name="m",engine="0"} 10.0
            vllm:spec_decode_num_draft_tokens_total{model_name="m",engine="0"} 40.0
            vllm:spec_decode_num_accepted_tokens_total{model_name="m",engine="0"} 20.0
            vllm:spec_decode_num_accepted_tokens_per_pos_total{model_name="m",position="0"} 8.0
            vllm:spec_decode_num_accepted_tokens_per_pos_total{model_name="m",position="1"} 5.0
            """)
        let after = SpecDecodeCounters.parse("""
            vllm:spec_decode_num_drafts_total{model_name="m",engine="0"} 30.0
            vllm:spec_decode_num_draft_tokens_total{model_name="m",engine="0"} 120.0
            vllm:spec_decode_num_accepted_tokens_total{model_name="m",engine="0"} 80.0
            vllm:spec_decode_num_accepted_tokens_per_pos_total{model_name="m",position="0"} 26.0
            vllm:spec_decode_num_accepted_tokens_per_pos_total{model_name="m",position="1"} 15.0
            """)
        let fields = try #require(SpecDecodeCounters.delta(before, after))
        let object = OrderedJSON.object(fields)
        #expect(object["spec_decode_acceptance_rate"] == .double(75))  // 60 of 80 drafted tokens
        #expect(object["spec_decode_acceptance_length"] == .double(4))  // 1 + 60 / 20 drafts
        #expect(object["spec_decode_per_position_acceptance_rates"] == .array([.double(0.9), .double(0.5)]))
        #expect(SpecDecodeCounters.parse("vllm:num_requests_running 3") == nil)
    }
}
