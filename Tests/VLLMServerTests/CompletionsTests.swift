import Foundation
import Testing
import VLLMServer

/// `/v1/completions` through the router, against the fake engine (which echoes the prompt).
@Suite struct CompletionsTests {
    @Test func plainCompletionHasOpenAIShape() async throws {
        let harness = TestHarness()
        try await harness.test { client in
            let reply = try await client.post(
                "/v1/completions", #"{"model": "fake-model", "prompt": "abc", "max_tokens": 5}"#)
            #expect(reply.status == 200)
            let json = reply.json
            #expect((json["id"] as? String)?.hasPrefix("cmpl-") == true)
            #expect(json["object"] as? String == "text_completion")
            #expect(json["model"] as? String == "fake-model")
            #expect(json["created"] is Int)
            #expect(json.keys.contains("system_fingerprint"))
            let choice = try #require(choices(json).first)
            #expect(choice["index"] as? Int == 0)
            #expect(choice["text"] as? String == "abcab")
            #expect(choice["finish_reason"] as? String == "length")
            #expect(choice["stop_reason"] is NSNull)
            #expect(choice["logprobs"] is NSNull)
            // BOS + 3 characters.
            #expect(usage(json) == ["prompt_tokens": 4, "completion_tokens": 5, "total_tokens": 9])
        }
    }

    @Test func defaultMaxTokensIs16AndAliasNameWorks() async throws {
        let harness = TestHarness()
        try await harness.test { client in
            let reply = try await client.post("/v1/completions", #"{"model": "alias", "prompt": "xy"}"#)
            #expect(reply.status == 200)
            #expect(reply.json["model"] as? String == "alias")
            #expect(usage(reply.json)["completion_tokens"] == 16)
            let reply2 = try await client.post("/v1/completions", #"{"prompt": "xy", "max_tokens": null}"#)
            #expect(usage(reply2.json)["completion_tokens"] == 16)
        }
    }

    @Test func listOfPromptsTokenIdsAndN() async throws {
        let harness = TestHarness()
        try await harness.test { client in
            // "hi" and the token ids of "ok" (scalar + 3), two sequences each.
            let ids = "ok".unicodeScalars.map { Int($0.value) + 3 }
            let body = #"{"prompt": [["# + ids.map(String.init).joined(separator: ",")
                + #"]], "max_tokens": 2, "n": 2, "temperature": 0.5}"#
            let reply = try await client.post("/v1/completions", body)
            #expect(reply.status == 200)
            #expect(choices(reply.json).map { $0["text"] as? String } == ["ok", "ko"])
            let two = try await client.post(
                "/v1/completions", #"{"prompt": ["hi", "yo"], "max_tokens": 3, "n": 2, "temperature": 1}"#)
            #expect(choices(two.json).map { $0["index"] as? Int } == [0, 1, 2, 3])
            #expect(choices(two.json).map { $0["text"] as? String } == ["hih", "ihi", "yoy", "oyo"])
            #expect(usage(two.json) == ["prompt_tokens": 6, "completion_tokens": 12, "total_tokens": 18])
        }
    }

    @Test func echoAndEchoWithZeroMaxTokens() async throws {
        let harness = TestHarness()
        try await harness.test { client in
            let reply = try await client.post("/v1/completions", #"{"prompt": "ab", "max_tokens": 3, "echo": true}"#)
            #expect(choices(reply.json).first?["text"] as? String == "ababa")
            let only = try await client.post("/v1/completions", #"{"prompt": "ab", "max_tokens": 0, "echo": true}"#)
            #expect(only.status == 200)
            #expect(choices(only.json).first?["text"] as? String == "ab")
            #expect(usage(only.json)["completion_tokens"] == 1)
        }
    }

    @Test func stopStringsAndStopTokens() async throws {
        let harness = TestHarness()
        try await harness.test { client in
            let reply = try await client.post("/v1/completions", #"{"prompt": "abcd", "max_tokens": 8, "stop": "c"}"#)
            let choice = try #require(choices(reply.json).first)
            #expect(choice["text"] as? String == "ab")
            #expect(choice["finish_reason"] as? String == "stop")
            #expect(choice["stop_reason"] as? String == "c")
            let kept = try await client.post(
                "/v1/completions",
                #"{"prompt": "abcd", "max_tokens": 8, "stop": ["c"], "include_stop_str_in_output": true}"#)
            #expect(choices(kept.json).first?["text"] as? String == "abc")
            let token = Int(Unicode.Scalar("b").value) + 3
            let byToken = try await client.post(
                "/v1/completions", #"{"prompt": "abcd", "max_tokens": 8, "stop_token_ids": [\#(token)]}"#)
            #expect(choices(byToken.json).first?["stop_reason"] as? Int == token)
            #expect(choices(byToken.json).first?["text"] as? String == "a")
        }
    }

    @Test func extraSamplingFieldsReachTheEngine() async throws {
        let harness = TestHarness()
        try await harness.test { client in
            let reply = try await client.post(
                "/v1/completions",
                #"{"prompt": "ab", "max_tokens": 4, "top_k": 5, "min_p": 0.1, "repetition_penalty": 1.2, "#
                    + #""ignore_eos": true, "min_tokens": 2, "seed": 7, "skip_special_tokens": false, "#
                    + #""temperature": 0.7, "top_p": 0.9, "presence_penalty": 0.5, "frequency_penalty": -0.5, "#
                    + #""logit_bias": {"100": 150}}"#)
            #expect(reply.status == 200)
            let params = try #require(harness.engine.requests.first?.params)
            #expect(params.topK == 5)
            #expect(params.minP == 0.1)
            #expect(params.repetitionPenalty == 1.2)
            #expect(params.ignoreEos)
            #expect(params.minTokens == 2)
            #expect(params.seed == 7)
            #expect(!params.skipSpecialTokens)
            #expect(params.temperature == 0.7)
            #expect(params.topP == 0.9)
            #expect(params.maxTokens == 4)
            #expect(params.logitBias == [100: 150])
            // top_k = -1 means "off", as in vLLM.
            _ = try await client.post("/v1/completions", #"{"prompt": "ab", "max_tokens": 1, "top_k": -1}"#)
            #expect(harness.engine.requests.last?.params.topK == nil)
        }
    }

    @Test func logprobsFollowOpenAIShape() async throws {
        let harness = TestHarness()
        try await harness.test { client in
            let reply = try await client.post("/v1/completions", #"{"prompt": "ab", "max_tokens": 3, "logprobs": 2}"#)
            let logprobs = try #require(choices(reply.json).first?["logprobs"] as? [String: Any])
            #expect(logprobs["tokens"] as? [String] == ["a", "b", "a"])
            #expect(logprobs["text_offset"] as? [Int] == [0, 1, 2])
            #expect(logprobs["token_logprobs"] as? [Double] == [0, -0.5, -1])
            let tops = try #require(logprobs["top_logprobs"] as? [[String: Double]])
            // The fake's top-2 are the sampled token and the next id: "a" → {"a", "b"}.
            #expect(tops[0] == ["a": 0, "b": -0.5])
            #expect(tops.count == 3)
        }
    }

    /// vLLM's `prompt_logprobs` shape: per prompt token `null` (the first) or token id → logprob, rank,
    /// decoded_token; refused with streaming and below -1, as vLLM does (more than --max-logprobs: the live test).
    @Test func promptLogprobsFollowVLLMShape() async throws {
        let harness = TestHarness()
        try await harness.test { client in
            let reply = try await client.post(
                "/v1/completions", #"{"prompt": "ab", "max_tokens": 1, "prompt_logprobs": 2}"#)
            #expect(reply.status == 200)
            #expect(harness.engine.requests.last?.params.promptLogprobs == 2)
            let positions = try #require(choices(reply.json).first?["prompt_logprobs"] as? [Any])
            #expect(positions.count == 3)  // BOS, "a", "b"
            #expect(positions[0] is NSNull)
            let a = try #require(positions[1] as? [String: [String: Any]])
            #expect(a["100"]?["logprob"] as? Double == -0.25 && a["100"]?["rank"] as? Int == 1)
            #expect(a["100"]?["decoded_token"] as? String == "a")
            #expect(a["101"]?["logprob"] as? Double == -0.5 && a["101"]?["rank"] as? Int == 2)
            #expect(a["101"]?["decoded_token"] as? String == "b")
            #expect(a.count == 2)
            // No prompt_logprobs asked: no field.
            let plain = try await client.post("/v1/completions", #"{"prompt": "ab", "max_tokens": 1}"#)
            #expect(choices(plain.json).first?.keys.contains("prompt_logprobs") == false)

            let streamed = try await client.post(
                "/v1/completions", #"{"prompt": "ab", "max_tokens": 1, "prompt_logprobs": 1, "stream": true}"#)
            #expect(streamed.status == 400)
            #expect(streamed.errorMessage == "`prompt_logprobs` are not available when `stream=True`.")
            let negative = try await client.post("/v1/completions", #"{"prompt": "ab", "prompt_logprobs": -2}"#)
            #expect(negative.status == 400)
            #expect(negative.errorMessage == "`prompt_logprobs` must be a positive value or -1.")
        }
    }

    @Test func streamingSendsDeltasThenDone() async throws {
        let harness = TestHarness()
        try await harness.test { client in
            let reply = try await client.post(
                "/v1/completions",
                #"{"prompt": "abc", "max_tokens": 4, "stream": true, "stream_options": {"include_usage": true}}"#)
            #expect(reply.status == 200)
            #expect(reply.headers[.contentType]?.hasPrefix("text/event-stream") == true)
            #expect(reply.events.last == "[DONE]")
            let objects = reply.eventObjects
            let texts = objects.flatMap(choices).compactMap { $0["text"] as? String }
            #expect(texts.joined() == "abca")
            #expect(objects.allSatisfy { $0["object"] as? String == "text_completion" })
            let ids = Set(objects.compactMap { $0["id"] as? String })
            #expect(ids.count == 1)
            let last = try #require(objects.last)
            #expect(choices(last).isEmpty)
            #expect(usage(last) == ["prompt_tokens": 4, "completion_tokens": 4, "total_tokens": 8])
            let finish = objects.flatMap(choices).compactMap { $0["finish_reason"] as? String }
            #expect(finish == ["length"])
            #expect(harness.engine.numInFlight == 0)
        }
    }

    @Test func streamingWithoutUsageHasNoUsageChunk() async throws {
        let harness = TestHarness()
        try await harness.test { client in
            let reply = try await client.post("/v1/completions", #"{"prompt": "ab", "max_tokens": 2, "stream": true}"#)
            #expect(reply.eventObjects.count == 2)
            #expect(reply.eventObjects.allSatisfy { $0["usage"] == nil })
        }
    }
}
