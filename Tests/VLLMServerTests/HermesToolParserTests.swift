import Foundation
import Testing
@testable import VLLMServer

/// The hermes tool-call parser against vLLM's (scripts/make_tool_parser_goldens.py), whole and streamed.
@Suite struct HermesToolParserTests {
    struct Case: Decodable {
        struct Call: Decodable { var name: String; var arguments: String }
        var output: String
        var tools_called: Bool
        var calls: [Call]
        var content: String?
    }

    static func cases() throws -> [Case] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Goldens/hermes_tool_calls.json")
        return try JSONDecoder().decode([Case].self, from: Data(contentsOf: url))
    }

    @Test func wholeAnswersAsVLLMParsesThem() throws {
        for test in try Self.cases() {
            let (content, calls) = HermesToolParser.extract(test.output)
            #expect(content == test.content, "\(test.output)")
            #expect(calls.map(\.name) == test.calls.map(\.name), "\(test.output)")
            #expect(calls.map(\.arguments) == test.calls.map(\.arguments), "\(test.output)")
        }
    }

    /// Streamed in pieces of every size from 1 to 7 bytes' worth of characters: the content sent adds up to
    /// the whole answer's content, and the calls sent are its calls.
    @Test func streamedAnswersAddUpToTheWholeOnes() throws {
        for test in try Self.cases() where test.tools_called || !test.output.contains("<tool_call>") {
            for size in 1...7 {
                var parser = HermesToolParser()
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
