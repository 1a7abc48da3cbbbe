import Foundation

/// `swift-vllm run-batch`: OpenAI's batch file format, as vLLM's `run_batch`.
///
/// Each input line is `{"custom_id", "method", "url", "body"}`; each output line (in input order)
/// is `{"id", "custom_id", "response": {"status_code", "request_id", "body"}, "error"}`, where a
/// refused request has `body: null` and its OpenAI error in `error`. A line that is not a valid
/// request gets an output line saying why, and the run goes on.
public struct BatchRunner: Sendable {
    let serving: OpenAIServing
    /// Requests in flight at once (vLLM uses twice `max_num_seqs`).
    let maxConcurrency: Int

    public init(serving: OpenAIServing, maxConcurrency: Int = 512) {
        self.serving = serving
        self.maxConcurrency = max(1, maxConcurrency)
    }

    /// Runs every line of `input`; returns the output lines, in order.
    public func run(lines input: [String]) async -> [String] {
        let lines = input.filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        var outputs = Array(repeating: "", count: lines.count)
        await withTaskGroup(of: (Int, String).self) { group in
            var next = 0
            func addNext() {
                guard next < lines.count else { return }
                let index = next
                next += 1
                group.addTask { (index, await self.runLine(lines[index], number: index + 1)) }
            }
            for _ in 0..<min(maxConcurrency, lines.count) { addNext() }
            while let (index, output) = await group.next() {
                outputs[index] = output
                addNext()
            }
        }
        return outputs
    }

    struct Input: Decodable {
        var customId: String
        var method: String
        var url: String
        var body: JSONValue

        enum CodingKeys: String, CodingKey {
            case method, url, body
            case customId = "custom_id"
        }
    }

    func runLine(_ line: String, number: Int) async -> String {
        let input: Input
        do {
            input = try JSONDecoder().decode(Input.self, from: Data(line.utf8))
        } catch {
            let customId = (try? JSONDecoder().decode([String: JSONValue].self, from: Data(line.utf8)))?["custom_id"]?
                .stringValue ?? ""
            let message = "line \(number) is not a batch request ({\"custom_id\", \"method\", \"url\", \"body\"}): "
                + "\(describe(error))"
            return output(customId: customId, status: 400, body: nil, error: Self.quoted(message))
        }
        guard input.method.uppercased() == "POST" else {
            return output(
                customId: input.customId, status: 400, body: nil,
                error: Self.quoted("Only POST is supported, got \(input.method)."))
        }
        let body = (try? JSONCoding.encode(input.body)) ?? Data()
        let response: ServingResponse
        switch input.url {
        case "/v1/chat/completions": response = await serving.chatCompletions(body: body)
        case "/v1/completions": response = await serving.completions(body: body)
        case "/v1/embeddings": response = await serving.embeddings(body: body)
        default:
            return output(
                customId: input.customId, status: 400, body: nil,
                error: Self.quoted(
                    "URL \(input.url) was used. Supported endpoints: /v1/chat/completions, /v1/completions, /v1/embeddings."))
        }
        switch response {
        case .json(let status, let data) where status == 200:
            return output(customId: input.customId, status: 200, body: String(decoding: data, as: UTF8.self), error: nil)
        case .json(let status, let data):
            return output(customId: input.customId, status: status, body: nil, error: String(decoding: data, as: UTF8.self))
        case .text(let status, let text, _):
            return output(customId: input.customId, status: status, body: nil, error: Self.quoted(text))
        case .stream(let stream):
            // Run it to the end so the engine's work is not left behind, but refuse it as vLLM does.
            _ = try? await stream.collect()
            return output(
                customId: input.customId, status: 400, body: nil,
                error: Self.quoted("Request must not be sent in stream mode"))
        }
    }

    private func describe(_ error: any Error) -> String {
        if let decoding = error as? DecodingError { return OpenAIError.decoding(decoding).message }
        return "\(error)"
    }

    /// One output line; `body` and `error` are JSON text (or `nil` for `null`).
    private func output(customId: String, status: Int, body: String?, error: String?) -> String {
        "{\"id\":\(Self.quoted("vllm-\(randomRequestID())")),\"custom_id\":\(Self.quoted(customId)),"
            + "\"response\":{\"status_code\":\(status),\"request_id\":\(Self.quoted("vllm-batch-\(randomRequestID())")),"
            + "\"body\":\(body ?? "null")},\"error\":\(error ?? "null")}"
    }

    static func quoted(_ text: String) -> String { JSONCoding.encodeString(text) }
}
