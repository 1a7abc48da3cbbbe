import Foundation
import Testing
import VLLMServer

/// The small endpoints: models, health, version, tokenize, detokenize, /api/chat.
@Suite struct EndpointTests {
    @Test func modelsHealthVersion() async throws {
        let harness = TestHarness(maxModelLen: 77)
        try await harness.test { client in
            let models = try await client.get("/v1/models")
            #expect(models.json["object"] as? String == "list")
            let data = try #require(models.json["data"] as? [[String: Any]])
            #expect(data.map { $0["id"] as? String } == ["fake-model", "alias"])
            #expect(data.allSatisfy { $0["object"] as? String == "model" && $0["owned_by"] as? String == "vllm" })
            #expect(data.allSatisfy { $0["max_model_len"] as? Int == 77 && $0["root"] as? String == "/models/fake" })
            let health = try await client.get("/health")
            #expect(health.status == 200 && health.text.isEmpty)
            let version = try await client.get("/version")
            #expect(version.json["version"] as? String == OpenAIServing.version)
        }
    }

    @Test func tokenizeAndDetokenize() async throws {
        let harness = TestHarness(maxModelLen: 50)
        try await harness.test { client in
            let tokens = try await client.post("/tokenize", #"{"prompt": "ab"}"#)
            #expect(tokens.json["tokens"] as? [Int] == [1, 100, 101])
            #expect(tokens.json["count"] as? Int == 3)
            #expect(tokens.json["max_model_len"] as? Int == 50)
            #expect(tokens.json["token_strs"] is NSNull)
            let plain = try await client.post("/tokenize", #"{"prompt": "ab", "add_special_tokens": false, "return_token_strs": true}"#)
            #expect(plain.json["tokens"] as? [Int] == [100, 101])
            #expect(plain.json["token_strs"] as? [String] == ["a", "b"])
            let chat = try await client.post("/tokenize", #"{"messages": [{"role": "user", "content": "a"}]}"#)
            #expect(chat.json["count"] as? Int == "<|user|>a\n<|assistant|>".count)
            let text = try await client.post("/detokenize", #"{"tokens": [1, 100, 101]}"#)
            #expect(text.json["prompt"] as? String == "<s>ab")
            let bad = try await client.post("/detokenize", #"{"tokens": [-5]}"#)
            #expect(bad.status == 400)
            let neither = try await client.post("/tokenize", #"{}"#)
            #expect(neither.status == 400)
            let unknown = try await client.post("/tokenize", #"{"model": "nope", "prompt": "a"}"#)
            #expect(unknown.status == 404)
        }
    }

    @Test func apiChatAnswersOneString() async throws {
        let harness = TestHarness()
        try await harness.test { client in
            let reply = try await client.post("/api/chat", #"{"prompt": "hey", "temperature": 0, "max_tokens": 5}"#)
            #expect(reply.status == 200)
            #expect(reply.json["response"] as? String == "<|use")
            #expect(harness.engine.requests.last?.params.temperature == 0)
            let bad = try await client.post("/api/chat", #"{"temperature": 0}"#)
            #expect(bad.status == 400)
            #expect(bad.errorMessage.contains("`prompt`"))
        }
        let plain = TestHarness(chat: false)
        try await plain.test { client in
            let reply = try await client.post("/api/chat", #"{"prompt": "hey", "max_tokens": 2}"#)
            #expect(reply.json["response"] as? String == "he")
        }
    }
}
