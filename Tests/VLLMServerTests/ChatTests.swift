import Foundation
import Testing
import VLLMServer

/// `/v1/chat/completions` through the router. The fake template renders `<|role|>content\n`
/// per message and `<|assistant|>` for the generation prompt; the fake engine echoes it.
@Suite struct ChatTests {
    @Test func chatCompletionHasOpenAIShape() async throws {
        let harness = TestHarness()
        try await harness.test { client in
            let reply = try await client.post(
                "/v1/chat/completions",
                #"{"model": "fake-model", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}"#)
            #expect(reply.status == 200)
            let json = reply.json
            #expect((json["id"] as? String)?.hasPrefix("chatcmpl-") == true)
            #expect(json["object"] as? String == "chat.completion")
            let choice = try #require(choices(json).first)
            let message = try #require(choice["message"] as? [String: Any])
            #expect(message["role"] as? String == "assistant")
            #expect(message["content"] as? String == "<|us")
            #expect(message["tool_calls"] as? [Any] != nil)
            #expect(choice["finish_reason"] as? String == "length")
            #expect(choice["logprobs"] is NSNull)
            let prompt = "<|user|>hi\n<|assistant|>"
            #expect(harness.engine.requests.last?.prompt == (try FakeTokenizer().encode(prompt, addSpecialTokens: false)))
            #expect(usage(json) == ["prompt_tokens": prompt.count, "completion_tokens": 4, "total_tokens": prompt.count + 4])
        }
    }

    @Test func contentPartsAreJoinedAndOtherPartsRefused() async throws {
        let harness = TestHarness()
        try await harness.test { client in
            let reply = try await client.post(
                "/v1/chat/completions",
                #"{"messages": [{"role": "system", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}, "#
                    + #"{"role": "user", "content": "c"}], "max_tokens": 1}"#)
            #expect(reply.status == 200)
            let expected = try FakeTokenizer().encode("<|system|>a\nb\n<|user|>c\n<|assistant|>", addSpecialTokens: false)
            #expect(harness.engine.requests.last?.prompt == expected)
            let image = try await client.post(
                "/v1/chat/completions",
                #"{"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}"#)
            #expect(image.status == 400)
            #expect(image.errorMessage.contains("messages[0].content[0]"))
            #expect(image.errorMessage.contains("image_url"))
        }
    }

    @Test func addGenerationPromptAndContinueFinalMessage() async throws {
        let harness = TestHarness()
        try await harness.test { client in
            _ = try await client.post(
                "/v1/chat/completions",
                #"{"messages": [{"role": "user", "content": "q"}], "add_generation_prompt": false, "max_tokens": 1}"#)
            #expect(harness.engine.requests.last?.prompt == (try FakeTokenizer().encode("<|user|>q\n", addSpecialTokens: false)))
            _ = try await client.post(
                "/v1/chat/completions",
                #"{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "The answer is"}], "#
                    + #""add_generation_prompt": false, "continue_final_message": true, "max_tokens": 1}"#)
            let continued = try FakeTokenizer().encode("<|user|>q\n<|assistant|>The answer is", addSpecialTokens: false)
            #expect(harness.engine.requests.last?.prompt == continued)
            let both = try await client.post(
                "/v1/chat/completions",
                #"{"messages": [{"role": "user", "content": "q"}], "continue_final_message": true}"#)
            #expect(both.status == 400)
            #expect(both.errorMessage == "Cannot set both `continue_final_message` and `add_generation_prompt` to True.")
        }
    }

    @Test func logprobsAndTopLogprobs() async throws {
        let harness = TestHarness()
        try await harness.test { client in
            let reply = try await client.post(
                "/v1/chat/completions",
                #"{"messages": [{"role": "user", "content": "x"}], "max_tokens": 2, "logprobs": true, "top_logprobs": 2}"#)
            let logprobs = try #require(choices(reply.json).first?["logprobs"] as? [String: Any])
            let content = try #require(logprobs["content"] as? [[String: Any]])
            #expect(content.map { $0["token"] as? String } == ["<", "|"])
            #expect(content[0]["bytes"] as? [Int] == [60])
            let top = try #require(content[0]["top_logprobs"] as? [[String: Any]])
            #expect(top.map { $0["token"] as? String } == ["<", "="])
            #expect(harness.engine.requests.last?.params.logprobs == 2)
            let none = try await client.post(
                "/v1/chat/completions", #"{"messages": [{"role": "user", "content": "x"}], "top_logprobs": 2}"#)
            #expect(none.status == 400)
            #expect(none.errorMessage == "when using `top_logprobs`, `logprobs` must be set to true.")
        }
    }

    /// vLLM puts a chat's prompt logprobs at the top of the response, one entry per prompt token.
    @Test func promptLogprobsAtTheTop() async throws {
        let harness = TestHarness()
        try await harness.test { client in
            let reply = try await client.post(
                "/v1/chat/completions",
                #"{"messages": [{"role": "user", "content": "x"}], "max_tokens": 1, "prompt_logprobs": 0}"#)
            #expect(reply.status == 200)
            let prompt = try #require(harness.engine.requests.last?.prompt)
            let positions = try #require(reply.json["prompt_logprobs"] as? [Any])
            #expect(positions.count == prompt.count)
            #expect(positions.first is NSNull)
            // prompt_logprobs 0: the prompt's own token alone.
            let second = try #require(positions[1] as? [String: [String: Any]])
            #expect(second.keys.sorted() == [String(prompt[1])])
            #expect(second[String(prompt[1])]?["rank"] as? Int == 1)
            #expect(choices(reply.json).first?.keys.contains("prompt_logprobs") == false)
        }
    }

    @Test func streamingSendsRoleThenDeltas() async throws {
        let harness = TestHarness()
        try await harness.test { client in
            let reply = try await client.post(
                "/v1/chat/completions",
                #"{"messages": [{"role": "user", "content": "x"}], "max_tokens": 3, "stream": true, "n": 2, "#
                    + #""stream_options": {"include_usage": true}}"#)
            #expect(reply.events.last == "[DONE]")
            let objects = reply.eventObjects
            #expect(objects.allSatisfy { $0["object"] as? String == "chat.completion.chunk" })
            let first = objects.prefix(2).flatMap(choices)
            #expect(first.map { ($0["delta"] as? [String: Any])?["role"] as? String } == ["assistant", "assistant"])
            var texts = ["", ""]
            for choice in objects.flatMap(choices) {
                let index = choice["index"] as? Int ?? 0
                texts[index] += (choice["delta"] as? [String: Any])?["content"] as? String ?? ""
            }
            #expect(texts == ["<|u", "|us"])
            let finishes = objects.flatMap(choices).compactMap { $0["finish_reason"] as? String }
            #expect(finishes == ["length", "length"])
            #expect(usage(objects.last ?? [:])["completion_tokens"] == 6)
        }
    }

    @Test func noChatTemplateIsAClearError() async throws {
        let harness = TestHarness(chat: false)
        try await harness.test { client in
            let reply = try await client.post("/v1/chat/completions", #"{"messages": [{"role": "user", "content": "x"}]}"#)
            #expect(reply.status == 400)
            #expect(reply.errorMessage.contains("you must provide a chat template"))
            let untrusted = await TestHarness().serving.chatCompletions(
                body: Data(#"{"messages": [{"role": "user", "content": "x"}], "chat_template": "{{ x }}"}"#.utf8))
            #expect(untrusted.status == 400)
        }
    }
}
