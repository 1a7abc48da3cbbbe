import Foundation
import Testing
@testable import VLLMServer

/// The hermes and llama3_json tool-call parsers' whole answers against vLLM's algorithms run with Python's `re` and
/// `json` (scripts/make_tool_parser_goldens.py). Streams, and vLLM's own parser code: ToolCallStreamTests.
@Suite struct HermesToolParserTests {
    struct Case: Decodable {
        struct Call: Decodable { var name: String; var arguments: String }
        var output: String
        var tools_called: Bool
        var calls: [Call]
        var content: String?
    }

    static func cases(_ file: String = "hermes_tool_calls.json") throws -> [Case] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Goldens/\(file)")
        return try JSONDecoder().decode([Case].self, from: Data(contentsOf: url))
    }

    static let parsers: [(file: String, parser: any ToolCallTextParser)] = [
        ("hermes_tool_calls.json", HermesToolParser()), ("llama3_json_tool_calls.json", Llama3JSONToolParser()),
    ]

    @Test func wholeAnswersAsVLLMParsesThem() throws {
        for (file, parser) in Self.parsers {
            for test in try Self.cases(file) {
                let extracted = try parser.extract(test.output)
                #expect(extracted.content == test.content, "\(test.output)")
                #expect(extracted.calls.map(\.name) == test.calls.map(\.name), "\(test.output)")
                #expect(extracted.calls.map(\.arguments) == test.calls.map(\.arguments), "\(test.output)")
            }
        }
    }
}

/// The reasoning parsers against vLLM's (scripts/make_tool_parser_goldens.py), whole and streamed.
@Suite struct ReasoningParserTests {
    struct Case: Decodable {
        var text: String
        var deepseek_r1: [String?]
        var qwen3: [String?]
    }

    @Test func splitsAsVLLMDoes() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Goldens/reasoning.json")
        for test in try JSONDecoder().decode([Case].self, from: Data(contentsOf: url)) {
            for (name, expected) in [("deepseek_r1", test.deepseek_r1), ("qwen3", test.qwen3)] {
                let parser = try #require(ReasoningParser(name: name))
                let (reasoning, content) = parser.extract(test.text)
                #expect(reasoning == expected[0] && content == expected[1], "\(name): \(test.text.debugDescription) → \(String(describing: reasoning)), \(String(describing: content))")
                // Streamed, the same reasoning and content — except where text precedes <think> (a stream
                // cannot take back what it sent before the tag, in vLLM either) and, for qwen3, an unclosed block.
                guard !test.text.contains("<think>") || test.text.hasPrefix("<think>") else { continue }
                guard name == "deepseek_r1" || test.text.contains("</think>") || !test.text.contains("<think>") else { continue }
                for size in [1, 3, 7] {
                    var streaming = parser
                    var (r, c) = ("", "")
                    let characters = Array(test.text)
                    var start = 0
                    while start < characters.count {
                        let end = min(start + size, characters.count)
                        let (dr, dc) = streaming.feed(String(characters[start..<end]), finished: end == characters.count)
                        r += dr ?? ""
                        c += dc ?? ""
                        start = end
                    }
                    #expect(r == (expected[0] ?? "") && c == (expected[1] ?? ""), "\(name) size \(size): \(test.text.debugDescription) → \(r.debugDescription), \(c.debugDescription)")
                }
            }
        }
    }
}

extension ReasoningParserTests {
    /// A message under a reasoning parser carries `reasoning` and, for older clients, `reasoning_content`.
    @Test func messagesCarryBothReasoningFields() throws {
        var message = ChatMessageBody(role: "assistant", content: "4")
        message.reasoning = "2 + 2"
        message.hasReasoningFields = true
        let whole = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(message)) as? [String: Any]
        #expect(whole?["reasoning"] as? String == "2 + 2" && whole?["reasoning_content"] as? String == "2 + 2")
        #expect(whole?["content"] as? String == "4" && (whole?["tool_calls"] as? [Any])?.isEmpty == true)
        var delta = ChatMessageBody(content: nil, isDelta: true)
        delta.reasoning = "2"
        let chunk = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(delta)) as? [String: Any]
        #expect(chunk?.keys.sorted() == ["reasoning", "reasoning_content"])
    }
}
