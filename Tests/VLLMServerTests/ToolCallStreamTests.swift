import Foundation
import Testing
import VLLMCore
@testable import VLLMServer

/// Tool-call parsing against vLLM 0.26.0's own parsers run on the same texts (scripts/make_tool_stream_goldens.py):
/// each whole answer, and each stream — every cutting of the text into deltas — chunk for chunk (the step it is
/// sent at, its content and tool-call pieces, ids by their form), with the stream's finish_reason.
@Suite struct ToolCallStreamTests {
    struct Golden: Decodable {
        var parser: String
        var tokenizer: String?
        var tool_choice: Choice
        var text: String
        var finish_reason: String?
        var whole: Whole
        var streams: [Stream]

        enum Choice: Decodable {
            case mode(String), named(String)
            init(from decoder: any Decoder) throws {
                let container = try decoder.singleValueContainer()
                if let mode = try? container.decode(String.self) {
                    self = .mode(mode)
                } else {
                    self = .named(try container.decode([String: String].self)["name"] ?? "")
                }
            }
            var toolChoice: ToolChoice {
                switch self {
                case .mode("required"): .required
                case .mode("none"): .none
                case .mode: .auto
                case .named(let name): .named(name)
                }
            }
        }
    }

    struct Whole: Decodable {
        var content: String?
        var calls: [Call]?
        var finish_reason: String?
        var error: String?
        var message: String?
    }

    struct Call: Decodable, Equatable {
        var id: String?
        var name: String
        var arguments: String
    }

    struct Stream: Decodable {
        var chunking: String
        var lengths: [Int]
        var chunks: [Chunk]
        var finish_reason: String?
        /// Where vLLM's stream ended with an error instead.
        var error: StreamError?
    }

    struct StreamError: Decodable, Equatable {
        var step: Int
        var type: String
    }

    /// One chunk the server sends: `[step, delta]`.
    struct Chunk: Decodable, Equatable, CustomStringConvertible {
        var step: Int
        var delta: Delta

        init(step: Int, delta: Delta) {
            self.step = step
            self.delta = delta
        }

        init(from decoder: any Decoder) throws {
            var container = try decoder.unkeyedContainer()
            step = try container.decode(Int.self)
            delta = try container.decode(Delta.self)
        }

        var description: String { "\(step): \(delta)" }
    }

    /// A delta as vLLM serializes it, `null` and absent alike (ours leaves out what vLLM writes as null).
    struct Delta: Decodable, Equatable {
        var content: String?
        var tool_calls: [Piece]?

        struct Piece: Decodable, Equatable {
            var id: String?
            var type: String?
            var index: Int
            var function: Function?
            struct Function: Decodable, Equatable {
                var name: String?
                var arguments: String?
            }
        }

        init(_ delta: ToolCallsDelta) {
            content = delta.content
            tool_calls = delta.toolCalls.isEmpty ? nil : delta.toolCalls.map { call in
                Piece(id: call.id.map(ToolCallStreamTests.idForm), type: call.type, index: call.index,
                      function: call.name == nil && call.arguments == nil ? nil : .init(name: call.name, arguments: call.arguments))
            }
        }
    }

    /// A random id by its form, as the goldens record it.
    static func idForm(_ id: String) -> String {
        if id.hasPrefix("chatcmpl-tool-") { return "chatcmpl-tool" }
        if id.count == 9 && id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) { return "alnum9" }
        return "other:" + id
    }

    static let files = ["hermes", "llama3_json", "mistral", "required_named"]

    static func goldens(_ name: String) throws -> [Golden] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Goldens/tool_stream_\(name).json")
        return try JSONDecoder().decode([Golden].self, from: Data(contentsOf: url))
    }

    static func parsing(_ golden: Golden) -> ToolCallParsing {
        let vocabulary: Set<String> = golden.tokenizer == "pre_v11"
            ? ["<tool_call>", "</tool_call>", "<|python_tag|>", "[TOOL_CALLS]"]
            : ["<tool_call>", "</tool_call>", "<|python_tag|>", "[TOOL_CALLS]", "[ARGS]"]
        return ToolCallParsing(choice: golden.tool_choice.toolChoice, kind: ToolCallParserKind(rawValue: golden.parser), hasTools: true) {
            vocabulary.contains($0)
        }!
    }

    static func finishReason(_ golden: Golden) -> FinishReason { golden.finish_reason == "length" ? .length : .stop }

    @Test(arguments: files) func wholeAnswersAsVLLMParsesThem(file: String) throws {
        for golden in try Self.goldens(file) {
            let label = "\(golden.parser) \(golden.tool_choice.toolChoice): \(golden.text.debugDescription)"
            do throws(OpenAIError) {
                let (content, calls, toolsCalled) = try Self.parsing(golden).parse(golden.text, finishReason: Self.finishReason(golden))
                #expect(golden.whole.error == nil, "\(label): vLLM raises \(golden.whole.error ?? "")")
                #expect(content == golden.whole.content, "\(label)")
                #expect(calls.map { Call(id: Self.idForm($0.id), name: $0.name, arguments: $0.arguments) } == golden.whole.calls, "\(label)")
                #expect((toolsCalled ? "tool_calls" : golden.finish_reason ?? "stop") == golden.whole.finish_reason, "\(label)")
            } catch {
                // vLLM's server answers the parser's exception: ValueError and TypeError (pydantic's too) as 400s,
                // others as 500s.
                let expectedStatus = ["ValueError", "TypeError", "ValidationError"].contains(golden.whole.error ?? "") ? 400 : 500
                #expect(golden.whole.error != nil && error.status == expectedStatus, "\(label): \(error)")
                if golden.whole.error == "ValueError" { #expect(error.message == golden.whole.message, "\(label)") }
            }
        }
    }

    @Test(arguments: files) func streamsAsVLLMStreamsThem(file: String) throws {
        for golden in try Self.goldens(file) {
            let text = golden.text.codePoints
            for stream in golden.streams {
                var parsing = Self.parsing(golden)
                var chunks: [Chunk] = []
                var start = 0
                var failure: StreamError?
                for (step, length) in stream.lengths.enumerated() {
                    let piece = Array(text[start..<(start + length)]).string
                    start += length
                    let finished = step == stream.lengths.count - 1
                    let delta: ToolCallsDelta?
                    do {
                        delta = try parsing.parseDelta(piece, finished: finished)
                    } catch {
                        // Only RecursionError ends a stream in these texts; the server sends it as an error event.
                        failure = StreamError(step: step, type: error.status == 500 ? "RecursionError" : "\(error)")
                        break
                    }
                    if delta == nil && !finished { continue }
                    chunks.append(Chunk(step: step, delta: Delta(delta ?? ToolCallsDelta())))
                }
                let finish = parsing.toolsStreamed && golden.tool_choice.toolChoice.functionName == nil
                    ? "tool_calls" : golden.finish_reason ?? "stop"
                let label = "\(golden.parser) \(golden.tool_choice.toolChoice) \(stream.chunking): \(golden.text.debugDescription)"
                #expect(chunks == stream.chunks, "\(label)")
                #expect(failure == stream.error, "\(label)")
                if failure == nil { #expect(finish == stream.finish_reason, "\(label)") }
            }
        }
    }
}

/// The chat route's tool calls through HTTP, as the fake engine echoes a hermes answer back one character a step:
/// the stream's chunks carry what the parser sends, shaped as vLLM's, and add up to the whole answer.
@Suite struct ToolCallServingTests {
    static let tools = #"[{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]"#
    static let answer = #"Sure.<tool_call>{"name": "get_weather", "arguments": {"city": "Oslo", "days": 2}}</tool_call>"#
        + #"<tool_call>{"name": "get_time", "arguments": {}}</tool_call>"#

    /// The echoed answer: the fake template's `<|user|>` and the message.
    static func body(stream: Bool, parallel: Bool? = nil) -> String {
        let echoed = "<|user|>" + answer
        let content = String(data: try! JSONEncoder().encode(answer), encoding: .utf8)!
        return #"{"messages": [{"role": "user", "content": \#(content)}], "max_tokens": \#(echoed.unicodeScalars.count), "#
            + #""tools": \#(tools), "stream": \#(stream)\#(parallel.map { ", \"parallel_tool_calls\": \($0)" } ?? "")}"#
    }

    @Test func hermesCallsStreamAsTheyAreWritten() async throws {
        let harness = TestHarness(maxModelLen: 512) { $0.toolCallParser = "hermes" }
        try await harness.test { client in
            let whole = try await client.post("/v1/chat/completions", Self.body(stream: false))
            let choice = try #require(choices(whole.json).first)
            let message = try #require(choice["message"] as? [String: Any])
            let calls = try #require(message["tool_calls"] as? [[String: Any]])
            #expect(message["content"] as? String == "<|user|>Sure." && choice["finish_reason"] as? String == "tool_calls")
            #expect(calls.compactMap { ($0["function"] as? [String: Any])?["arguments"] as? String } == [#"{"city": "Oslo", "days": 2}"#, "{}"])

            let stream = try await client.post("/v1/chat/completions", Self.body(stream: true))
            var content = ""
            var pieces: [Int: [[String: Any]]] = [:]
            var finish: String?
            for chunk in stream.eventObjects {
                guard let choice = choices(chunk).first, let delta = choice["delta"] as? [String: Any] else { continue }
                content += delta["content"] as? String ?? ""
                for call in delta["tool_calls"] as? [[String: Any]] ?? [] { pieces[call["index"] as? Int ?? -1, default: []].append(call) }
                finish = choice["finish_reason"] as? String ?? finish
            }
            #expect(content == "<|user|>Sure." && finish == "tool_calls")
            #expect(pieces.keys.sorted() == [0, 1])
            for (index, call) in calls.enumerated() {
                let streamed = pieces[index] ?? []
                // The first piece names the call; the others carry only its index and a piece of its arguments.
                #expect((streamed.first?["id"] as? String)?.hasPrefix("chatcmpl-tool-") == true && streamed.first?["type"] as? String == "function")
                #expect((streamed.first?["function"] as? [String: Any])?["name"] as? String == (call["function"] as? [String: Any])?["name"] as? String)
                #expect(streamed.dropFirst().allSatisfy { Set($0.keys) == ["index", "function"] })
                let arguments = streamed.compactMap { ($0["function"] as? [String: Any])?["arguments"] as? String }.joined()
                #expect(arguments == (call["function"] as? [String: Any])?["arguments"] as? String)
            }
            #expect((pieces[0]?.count ?? 0) > 5, "the arguments come in pieces")

            // parallel_tool_calls: false keeps the first call, whole and streamed.
            let one = try await client.post("/v1/chat/completions", Self.body(stream: false, parallel: false))
            #expect((choices(one.json).first?["message"] as? [String: Any])?["tool_calls"].map { ($0 as? [Any])?.count } == 1)
            let oneStream = try await client.post("/v1/chat/completions", Self.body(stream: true, parallel: false))
            let indices = oneStream.eventObjects.flatMap { chunk in
                choices(chunk).flatMap { (($0["delta"] as? [String: Any])?["tool_calls"] as? [[String: Any]] ?? []).map { $0["index"] as? Int } }
            }
            #expect(!indices.isEmpty && indices.allSatisfy { $0 == 0 })
        }
    }
}
