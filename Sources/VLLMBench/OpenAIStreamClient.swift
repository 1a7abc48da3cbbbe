import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The API a run drives: vLLM's `--backend` names. `openai` (and `vllm`) stream `/v1/completions`,
/// `openai-chat` streams `/v1/chat/completions` with the prompt as the user's text.
public enum BenchBackend: String, Sendable, CaseIterable {
    case openai
    case vllm
    case openaiChat = "openai-chat"

    var isChat: Bool { self == .openaiChat }

    /// vLLM's `_validate_api_url`: the endpoint must be the backend's.
    func check(endpoint: String) throws {
        let suffix = isChat ? "chat/completions" : "completions"
        guard endpoint.hasSuffix(suffix) || endpoint.hasSuffix("profile") else {
            throw BenchError.invalidOption(
                "--backend \(rawValue) streams \(isChat ? "/v1/chat/completions" : "/v1/completions"); "
                    + "--endpoint \(endpoint) does not end with \(suffix)")
        }
    }
}

/// What one request sends.
struct RequestInput: Sendable {
    var prompt: String
    var url: String
    var promptLen: Int
    var outputLen: Int
    var model: String
    var logprobs: Int?
    var ignoreEos: Bool
    /// Merged into the body last (`--extra-body`, the sampling flags).
    var extraBody: [String: JSONValueBox]
    var headers: [(String, String)]
    var requestId: String?
}

/// What one request measured, as vLLM's `RequestFuncOutput` holds it. Times are seconds.
public struct RequestOutcome: Sendable {
    public var generatedText = ""
    public var success = false
    /// From sending to the last token.
    public var latency = 0.0
    /// `usage.completion_tokens` of the stream (0 when the server sent none).
    public var outputTokens = 0
    public var ttft = 0.0
    /// Gaps between successive streamed messages that carry a choice.
    public var itl: [Double] = []
    /// The dataset's count, replaced by the server's `usage.prompt_tokens`.
    public var promptLen = 0
    public var error = ""
    /// Seconds on the benchmark's monotonic clock when the request was sent.
    public var startTime = 0.0
    /// Streamed messages that carried a choice (a token's text each, for this project's server and vLLM's).
    public var streamedChunks = 0
    /// `usage.prompt_tokens` and `usage.completion_tokens` were both present.
    public var sawUsage = false
}

/// A JSON value that can cross tasks (the request bodies' extra fields).
public struct JSONValueBox: @unchecked Sendable {
    public let value: Any
    public init(_ value: Any) { self.value = value }
}

/// Seconds on a monotonic clock (the benchmarks' `time.perf_counter()`).
func monotonicSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) * 1e-9
}

/// Streams one completion or chat request and times it as vLLM's request functions do: TTFT at the first
/// message with a choice (the role-only delta of a chat stream counts, as in vLLM), an inter-token gap for every
/// later one, token counts from the final `usage` message (`stream_options.include_usage`).
struct OpenAIStreamClient: Sendable {
    let http: HTTPClient
    let backend: BenchBackend

    func send(_ input: RequestInput) async -> RequestOutcome {
        var body: [String: Any] = ["model": input.model, "stream": true, "stream_options": ["include_usage": true]]
        if backend.isChat {
            body["messages"] = [["role": "user", "content": [["type": "text", "text": input.prompt]]]]
            body["max_completion_tokens"] = input.outputLen
        } else {
            body["prompt"] = input.prompt
            body["repetition_penalty"] = 1.0
            body["max_tokens"] = input.outputLen
            body["logprobs"] = input.logprobs.map { $0 as Any } ?? NSNull()
        }
        if input.ignoreEos { body["ignore_eos"] = true }
        for (key, value) in input.extraBody { body[key] = value.value }

        var outcome = RequestOutcome()
        outcome.promptLen = input.promptLen
        var request = HTTPClientRequest(url: input.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        for (name, value) in input.headers { request.headers.replaceOrAdd(name: name, value: value) }
        if let requestId = input.requestId { request.headers.replaceOrAdd(name: "x-request-id", value: requestId) }
        do {
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))
        } catch {
            outcome.error = "cannot encode the request body: \(error)"
            return outcome
        }

        let start = monotonicSeconds()
        outcome.startTime = start
        var mostRecent = start
        var firstReceived = false
        do {
            let response = try await http.execute(request, timeout: .hours(6))
            guard response.status == .ok else {
                outcome.error = await Self.describeFailure(response)
                return outcome
            }
            var splitter = ServerSentEventSplitter()
            for try await chunk in response.body {
                let arrived = monotonicSeconds()
                for message in splitter.add(chunk.readableBytesView) where !message.hasPrefix(":") {
                    let payload = message.hasPrefix("data: ") ? String(message.dropFirst(6)) : message
                    guard payload != "[DONE]" else { continue }
                    guard let data = (try? JSONSerialization.jsonObject(with: Data(payload.utf8))) as? [String: Any] else {
                        throw BenchError.server("the stream sent a message that is not JSON: \(payload.prefix(200))")
                    }
                    if let choices = data["choices"] as? [[String: Any]], let choice = choices.first {
                        let text = backend.isChat ? (choice["delta"] as? [String: Any])?["content"] as? String : choice["text"] as? String
                        if !firstReceived {
                            firstReceived = true
                            outcome.ttft = arrived - start
                        } else {
                            outcome.itl.append(arrived - mostRecent)
                        }
                        outcome.streamedChunks += 1
                        outcome.generatedText += text ?? ""
                        mostRecent = arrived
                    } else if let usage = data["usage"] as? [String: Any] {
                        outcome.outputTokens = (usage["completion_tokens"] as? Int) ?? 0
                        if let prompt = usage["prompt_tokens"] as? Int { outcome.promptLen = prompt }
                        outcome.sawUsage = usage["completion_tokens"] is Int && usage["prompt_tokens"] is Int
                        if backend.isChat { mostRecent = arrived }
                    } else if let error = data["error"] as? [String: Any] {
                        // An error the server sends inside the stream (a request that failed after it started).
                        throw BenchError.server("the server ended the stream with an error: \(error["message"] ?? error)")
                    }
                }
            }
            if firstReceived || backend.isChat {
                outcome.success = true
            } else {
                outcome.error = "Never received a valid chunk to calculate TTFT. This response will be marked as failed!"
            }
            outcome.latency = mostRecent - start
        } catch {
            outcome.success = false
            outcome.error = "\(error)"
        }
        return outcome
    }

    /// "HTTP 404 Not Found: <the OpenAI error body's message>" (vLLM's client keeps only the reason phrase).
    static func describeFailure(_ response: HTTPClientResponse) async -> String {
        var text = "HTTP \(response.status.code) \(response.status.reasonPhrase)"
        if let body = try? await response.body.collect(upTo: 1 << 20) {
            let data = Data(body.readableBytesView)
            if let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
                let message = (object["error"] as? [String: Any])?["message"] as? String ?? object["message"] as? String
                    ?? object["detail"] as? String
            {
                text += ": \(message)"
            } else if !data.isEmpty {
                text += ": \(String(decoding: data.prefix(300), as: UTF8.self))"
            }
        }
        return text
    }
}
