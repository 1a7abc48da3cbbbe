import Foundation
import Hummingbird
import Testing
@testable import VLLMServer

/// Every error answers OpenAI's body with vLLM's status and wording, and the server keeps serving.
@Suite struct ErrorTests {
    func expectError(
        _ reply: Reply, status: Int, type: String, contains text: String, param: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(reply.status == status, sourceLocation: sourceLocation)
        #expect(reply.error["type"] as? String == type, sourceLocation: sourceLocation)
        #expect(reply.error["code"] as? Int == status, sourceLocation: sourceLocation)
        #expect(reply.errorMessage.contains(text), "message: \(reply.errorMessage)", sourceLocation: sourceLocation)
        #expect(reply.error.keys.contains("param"), sourceLocation: sourceLocation)
        if let param { #expect(reply.error["param"] as? String == param, sourceLocation: sourceLocation) }
    }

    @Test func malformedJSONWrongTypesAndMissingFields() async throws {
        let harness = TestHarness()
        try await harness.test { client in
            expectError(
                try await client.post("/v1/completions", #"{"prompt": "a", "#), status: 400, type: "Bad Request",
                contains: "not valid JSON")
            expectError(
                try await client.post("/v1/completions", ""), status: 400, type: "Bad Request", contains: "empty")
            expectError(
                try await client.post("/v1/completions", #"{"prompt": "a", "temperature": "hot"}"#), status: 400,
                type: "Bad Request", contains: "`temperature`", param: "temperature")
            expectError(
                try await client.post("/v1/completions", #"{"prompt": {"x": 1}}"#), status: 400, type: "Bad Request",
                contains: "prompt")
            expectError(
                try await client.post("/v1/chat/completions", #"{"model": "fake-model"}"#), status: 400,
                type: "Bad Request", contains: "Field required: `messages`", param: "messages")
            expectError(
                try await client.post("/v1/chat/completions", #"{"messages": [{"role": "user", "content": 3}]}"#),
                status: 400, type: "Bad Request", contains: "messages[0].content")
            expectError(
                try await client.post("/v1/completions", #"{"prompt": "a", "n": 1.5}"#), status: 400,
                type: "Bad Request", contains: "`n`")
            // Still serving.
            #expect(try await client.post("/v1/completions", #"{"prompt": "a", "max_tokens": 1}"#).status == 200)
        }
    }

    @Test func outOfRangeValuesUseVLLMMessages() async throws {
        let harness = TestHarness()
        try await harness.test { client in
            expectError(
                try await client.post("/v1/completions", #"{"prompt": "a", "temperature": 5}"#), status: 400,
                type: "BadRequestError", contains: "temperature must be in [0, 2], got 5.0.", param: "temperature")
            expectError(
                try await client.post("/v1/completions", #"{"prompt": "a", "top_p": 0}"#), status: 400,
                type: "BadRequestError", contains: "top_p must be in (0, 1], got 0.0.", param: "top_p")
            expectError(
                try await client.post("/v1/completions", #"{"prompt": "a", "max_tokens": -1}"#), status: 400,
                type: "BadRequestError", contains: "max_tokens must be at least 1, got -1.", param: "max_tokens")
            expectError(
                try await client.post("/v1/completions", #"{"prompt": "a", "n": 2, "temperature": 0}"#), status: 400,
                type: "BadRequestError", contains: "n must be 1 when using greedy sampling, got 2.", param: "n")
            expectError(
                try await client.post("/v1/completions", #"{"prompt": "a", "logprobs": -3}"#), status: 400,
                type: "BadRequestError", contains: "`logprobs` must be a positive value or -1.", param: "logprobs")
            expectError(
                try await client.post("/v1/completions", #"{"prompt": ""}"#), status: 400, type: "BadRequestError",
                contains: "Either prompt or prompt_embeds must be provided and non-empty.", param: "prompt")
            expectError(
                try await client.post("/v1/completions", #"{"prompt": [-4, 5]}"#), status: 400,
                type: "BadRequestError", contains: "non-negative", param: "prompt")
            expectError(
                try await client.post("/v1/completions", #"{"prompt": "a", "suffix": "b"}"#), status: 400,
                type: "BadRequestError", contains: "suffix is not currently supported")
            expectError(
                try await client.post("/v1/completions", #"{"prompt": "a", "stream_options": {"include_usage": true}}"#),
                status: 400, type: "BadRequestError", contains: "Stream options can only be defined when `stream=True`.")
            expectError(
                try await client.post("/v1/completions", #"{"prompt": "a", "logit_bias": {"x": 1}}"#), status: 400,
                type: "BadRequestError", contains: "logit_bias", param: "logit_bias")
        }
    }

    @Test func unknownModelIs404() async throws {
        let harness = TestHarness()
        try await harness.test { client in
            expectError(
                try await client.post("/v1/completions", #"{"model": "gpt-9", "prompt": "a"}"#), status: 404,
                type: "NotFoundError", contains: "The model `gpt-9` does not exist.", param: "model")
            expectError(
                try await client.post(
                    "/v1/chat/completions", #"{"model": "gpt-9", "messages": [{"role": "user", "content": "a"}]}"#),
                status: 404, type: "NotFoundError", contains: "The model `gpt-9` does not exist.")
        }
    }

    /// A prompt that cannot fit however it tokenizes (more bytes than max_model_len × 4 × the longest
    /// token) is refused before tokenizing, naming both numbers; the server goes on serving.
    @Test func hugePromptIsRefusedBeforeTokenizing() async throws {
        let harness = TestHarness(maxModelLen: 30)
        try await harness.test { client in
            let huge = String(repeating: "x", count: 30 * 16 + 1)
            expectError(
                try await client.post("/v1/completions", #"{"prompt": "\#(huge)"}"#), status: 400, type: "BadRequestError",
                contains: "This model's maximum context length is 30 tokens. However, your request's prompt is 481 bytes",
                param: "input_tokens")
            expectError(
                try await client.post("/v1/chat/completions", #"{"messages": [{"role": "user", "content": "\#(huge)"}]}"#),
                status: 400, type: "BadRequestError", contains: "maximum context length is 30 tokens", param: "input_tokens")
            #expect(try await client.post("/v1/completions", #"{"prompt": "ok", "max_tokens": 2}"#).status == 200)
        }
    }

    /// A known route with another method is a 405 naming the allowed ones (Starlette's answer); HEAD
    /// /health answers 200 as GET does.
    @Test func wrongMethodIs405WithAllowAndHeadHealthIs200() async throws {
        let harness = TestHarness()
        try await harness.test { client in
            let get = try await client.get("/v1/completions")
            #expect(get.status == 405 && get.headers[.allow] == "POST")
            #expect(get.error["code"] as? Int == 405)
            let put = try await client.execute(uri: "/health", method: .put) { Int($0.status.code) }
            #expect(put == 405)
            let head = try await client.execute(uri: "/health", method: .head) { ($0.status.code, $0.headers[.allow]) }
            #expect(head.0 == 200)
            #expect(try await client.get("/nope").status == 404)
        }
    }

    /// Numbers their field cannot hold name the field (Foundation says only "data corrupted"), with
    /// vLLM's words where it has them: temperature's range, pydantic's int64 bounds; several-form fields
    /// say every form.
    @Test func badNumbersAndFormsNameTheirField() async throws {
        let harness = TestHarness()
        try await harness.test { client in
            expectError(try await client.post("/v1/completions", #"{"prompt": "a", "temperature": 1e39}"#), status: 400,
                        type: "BadRequestError", contains: "temperature must be in [0, 2], got 1e+39.", param: "temperature")
            expectError(try await client.post("/v1/completions", #"{"prompt": "a", "seed": 1180591620717411303424}"#),
                        status: 400, type: "Bad Request",
                        contains: "Input should be less than or equal to 9223372036854775807", param: "seed")
            expectError(try await client.post("/v1/completions", #"{"prompt": "a", "max_tokens": 1.5}"#), status: 400,
                        type: "Bad Request", contains: "expected an integer, got 1.5", param: "max_tokens")
            expectError(try await client.post("/v1/completions", #"{"prompt": "a", "top_p": 1e39}"#), status: 400,
                        type: "Bad Request", contains: "out of range", param: "top_p")
            // A repeated key: the last wins, as Python's json (vLLM's parser) keeps it.
            let repeated = try await client.post("/v1/completions", #"{"prompt": "a", "max_tokens": 2, "max_tokens": 3}"#)
            #expect(repeated.status == 200 && harness.engine.requests.last?.params.maxTokens == 3)
            #expect(!DuplicateKeys.hasRepeatedKey(Data(#"{"a": {"b": 1}, "b": [{"a": 2}, {"a": "\"a\""}], "c": "a"}"#.utf8)))
            #expect(DuplicateKeys.hasRepeatedKey(Data(#"{"a": [{"x": 1, "y": 2, "x": 3}]}"#.utf8)))
            expectError(try await client.post("/v1/completions", #"{"prompt": "a", "stop": 5}"#), status: 400,
                        type: "Bad Request", contains: "Invalid type for `stop`: expected a string or a list of strings.",
                        param: "stop")
        }
    }

    @Test func promptLongerThanMaxModelLenNamesBothNumbers() async throws {
        let harness = TestHarness(maxModelLen: 30)
        try await harness.test { client in
            let long = String(repeating: "x", count: 40)
            expectError(
                try await client.post("/v1/completions", #"{"prompt": "\#(long)"}"#), status: 400,
                type: "BadRequestError",
                contains:
                    "This model's maximum context length is 30 tokens. However, your request has 41 input tokens. "
                    + "Please reduce the length of the input messages.")
            expectError(
                try await client.post("/v1/completions", #"{"prompt": "abc", "max_tokens": 28}"#), status: 400,
                type: "BadRequestError",
                contains:
                    "'max_tokens' or 'max_completion_tokens' is too large: 28. This model's maximum context length is "
                    + "30 tokens and your request has 4 input tokens (28 > 30 - 4).", param: "max_tokens")
            // Chat without max_tokens gets what is left of the context.
            let chat = try await client.post("/v1/chat/completions", #"{"messages": [{"role": "user", "content": ""}]}"#)
            #expect(chat.status == 200)
            #expect(harness.engine.requests.last?.params.maxTokens == 30 - "<|user|>\n<|assistant|>".count)
        }
    }

    @Test func bodyTooLargeIs413() async throws {
        let harness = TestHarness { $0.maxRequestBodyBytes = 100 }
        try await harness.test { client in
            let big = #"{"prompt": ""# + String(repeating: "a", count: 200) + #""}"#
            expectError(
                try await client.post("/v1/completions", big), status: 413, type: "Payload Too Large", contains: "100")
            #expect(try await client.post("/v1/completions", #"{"prompt": "a", "max_tokens": 1}"#).status == 200)
        }
    }

    @Test func overloadedEngineAndDrainingServerAre503() async throws {
        let harness = TestHarness()
        try await harness.test { client in
            harness.engine.setRefusing(true)
            expectError(
                try await client.post("/v1/completions", #"{"prompt": "a"}"#), status: 503,
                type: "ServiceUnavailableError", contains: "overloaded")
            harness.engine.setRefusing(false)
            #expect(try await client.post("/v1/completions", #"{"prompt": "a", "max_tokens": 1}"#).status == 200)
            harness.serving.state.beginDraining()
            expectError(
                try await client.post("/v1/completions", #"{"prompt": "a"}"#), status: 503,
                type: "ServiceUnavailableError", contains: "shutting down")
            #expect(try await client.get("/health").status == 503)
        }
    }

    @Test func unknownRouteIsOpenAI404() async throws {
        let harness = TestHarness()
        try await harness.test { client in
            expectError(try await client.get("/v2/nothing"), status: 404, type: "Not Found", contains: "/v2/nothing")
        }
    }

    @Test func apiKeyGuardsV1AndGeneratingRoutes() async throws {
        let harness = TestHarness { $0.apiKeys = ["sk-right", "sk-other"] }
        try await harness.test { client in
            expectError(try await client.get("/v1/models"), status: 401, type: "Unauthorized", contains: "Unauthorized")
            expectError(
                try await client.get("/v1/models", headers: [.authorization: "Bearer sk-wrong"]), status: 401,
                type: "Unauthorized", contains: "Unauthorized")
            expectError(
                try await client.post("/v1/completions", #"{"prompt": "a"}"#, headers: [.authorization: "sk-right"]),
                status: 401, type: "Unauthorized", contains: "Unauthorized")
            #expect(try await client.get("/v1/models", headers: [.authorization: "Bearer sk-right"]).status == 200)
            #expect(try await client.get("/v1/models", headers: [.authorization: "Bearer sk-other"]).status == 200)
            #expect(try await client.get("/health").status == 200)
            #expect(try await client.get("/metrics").status == 200)
            // Generating routes outside /v1 need the key too (a departure from vLLM, see APIKeyMiddleware).
            let chat = #"{"prompt": "hey", "temperature": 0, "max_tokens": 2}"#
            expectError(try await client.post("/api/chat", chat), status: 401, type: "Unauthorized", contains: "Unauthorized")
            #expect(try await client.post("/api/chat", chat, headers: [.authorization: "Bearer sk-right"]).status == 200)
        }
    }

    @Test func constantTimeComparison() {
        // Same answers as ==, whatever the lengths and contents.
        let samples = ["", "a", "ab", "sk-1", "sk-2", "sk-10"]
        for a in samples {
            for b in samples {
                #expect(APIKeyCheck.equals(Array(a.utf8), Array(b.utf8)) == (a == b))
            }
        }
    }

    @Test func corsHeadersFollowAllowedOrigins() async throws {
        let harness = TestHarness { $0.allowedOrigins = ["https://ok.example"] }
        try await harness.test { client in
            let allowed = try await client.get("/v1/models", headers: [.origin: "https://ok.example"])
            #expect(allowed.headers[.accessControlAllowOrigin] == "https://ok.example")
            let other = try await client.get("/v1/models", headers: [.origin: "https://evil.example"])
            #expect(other.headers[.accessControlAllowOrigin] == nil)
            let preflight = try await client.execute(
                uri: "/v1/chat/completions", method: .options,
                headers: [.origin: "https://ok.example", .accessControlRequestMethod: "POST"]
            ) { $0 }
            #expect(preflight.status == .ok)
            #expect(preflight.headers[.accessControlAllowMethods] == "POST")
        }
        let any = TestHarness()
        try await any.test { client in
            let reply = try await client.get("/v1/models", headers: [.origin: "https://x.example"])
            #expect(reply.headers[.accessControlAllowOrigin] == "*")
        }
    }
}
