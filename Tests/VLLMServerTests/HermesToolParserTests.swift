import Foundation
import Testing
@testable import VLLMServer

/// The hermes and llama3_json tool-call parsers against vLLM's (scripts/make_tool_parser_goldens.py), whole
/// and streamed.
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

    static let parsers: [(file: String, parser: any ToolCallTextParser.Type)] = [
        ("hermes_tool_calls.json", HermesToolParser.self), ("llama3_json_tool_calls.json", Llama3JSONToolParser.self),
    ]

    @Test func wholeAnswersAsVLLMParsesThem() throws {
        for (file, parser) in Self.parsers {
        for test in try Self.cases(file) {
            let (content, calls) = parser.extract(test.output)
            #expect(content == test.content, "\(test.output)")
            #expect(calls.map(\.name) == test.calls.map(\.name), "\(test.output)")
            #expect(calls.map(\.arguments) == test.calls.map(\.arguments), "\(test.output)")
        }
        }
    }

    /// Streamed in pieces of every size from 1 to 7 bytes' worth of characters: the content sent adds up to
    /// the whole answer's content, and the calls sent are its calls.
    @Test func streamedAnswersAddUpToTheWholeOnes() throws {
        for (file, parserType) in Self.parsers {
        // (vLLM streams a llama3_json answer that does not start with `{` or the tag as content, as we do:
        // there the whole and streamed answers differ by design.)
        for test in try Self.cases(file) where (test.tools_called || !test.output.contains("<tool_call>"))
            && !(parserType == Llama3JSONToolParser.self && test.tools_called
                 && !test.output.hasPrefix("{") && !test.output.hasPrefix(Llama3JSONToolParser.botToken)) {
            for size in 1...7 {
                var parser = parserType.init()
                var content = ""
                var calls: [ToolCallBody] = []
                let characters = Array(test.output)
                var start = 0
                while start < characters.count {
                    let end = min(start + size, characters.count)
                    let piece = String(characters[start..<end])
                    let (text, newCalls) = parser.feed(piece, finished: end == characters.count)
                    content += text ?? ""
                    calls += newCalls
                    start = end
                }
                #expect(content == (test.content ?? ""), "size \(size): \(test.output)")
                #expect(calls.map(\.arguments) == test.calls.map(\.arguments), "size \(size): \(test.output)")
            }
        }
        }
    }
}
