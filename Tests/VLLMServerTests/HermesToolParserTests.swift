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
