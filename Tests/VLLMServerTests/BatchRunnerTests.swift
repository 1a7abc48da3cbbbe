import Foundation
import Testing
import VLLMServer

/// `run-batch`: vLLM's batch file format, in order, one output line per input line.
@Suite struct BatchRunnerTests {
    func object(_ line: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] ?? [:]
    }

    @Test func runsChatAndCompletionLinesInOrder() async throws {
        let harness = TestHarness()
        let lines = [
            #"{"custom_id": "r1", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "fake-model", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3}}"#,
            #"{"custom_id": "r2", "method": "POST", "url": "/v1/completions", "body": {"prompt": "abc", "max_tokens": 2}}"#,
            #"{"custom_id": "r3", "method": "POST", "url": "/v1/completions", "body": {"prompt": "abc", "temperature": 9}}"#,
            #"{"custom_id": "r4", "method": "POST", "url": "/v1/audio/transcriptions", "body": {"input": "x"}}"#,
            #"{"custom_id": "r5", "method": "POST", "url": "/v1/completions", "body": {"prompt": "a", "stream": true}}"#,
            #"not json"#,
            "",
        ]
        let outputs = await BatchRunner(serving: harness.serving, maxConcurrency: 2).run(lines: lines)
        #expect(outputs.count == 6)
        let parsed = outputs.map(object)
        #expect(parsed.map { $0["custom_id"] as? String } == ["r1", "r2", "r3", "r4", "r5", ""])
        #expect(parsed.allSatisfy { ($0["id"] as? String)?.hasPrefix("vllm-") == true })
        let first = try #require(parsed[0]["response"] as? [String: Any])
        #expect(first["status_code"] as? Int == 200)
        #expect((first["request_id"] as? String)?.hasPrefix("vllm-batch-") == true)
        let body = try #require(first["body"] as? [String: Any])
        #expect(body["object"] as? String == "chat.completion")
        #expect(parsed[0]["error"] is NSNull)
        let second = try #require((parsed[1]["response"] as? [String: Any])?["body"] as? [String: Any])
        #expect(choices(second).first?["text"] as? String == "ab")
        let refused = try #require(parsed[2]["response"] as? [String: Any])
        #expect(refused["status_code"] as? Int == 400)
        #expect(refused["body"] is NSNull)
        let error = try #require((parsed[2]["error"] as? [String: Any])?["error"] as? [String: Any])
        #expect(error["message"] as? String == "temperature must be in [0, 2], got 9.0.")
        #expect((parsed[3]["error"] as? String)?.contains("Supported endpoints") == true)
        #expect(parsed[4]["error"] as? String == "Request must not be sent in stream mode")
        #expect((parsed[5]["error"] as? String)?.contains("line 6") == true)
        #expect(harness.engine.numInFlight == 0)
    }
}
