import Foundation
import Testing
@testable import VLLMServer

/// Model text nested past Python's limits must not run the server's threads out of stack or time: the goldens
/// (ToolCallStreamTests) check 1,200 levels against vLLM's parsers; these go further. Swift Testing runs them on
/// the cooperative pool, the threads (and stacks) the server's requests run on.
@Suite struct ToolCallLimitTests {
    /// A value 990 levels deep is still a value for `json.loads` (Python 3.11 reads 990 and refuses 999 from a
    /// shallow stack: its limit is 1,000 frames), and is written back as Python writes it; past 1,000 levels it is
    /// Python's RecursionError, not a decode error.
    @Test func jsonNestedToPythonsLimitReadsAndWritesBack() async throws {
        func nested(_ depth: Int) -> PyText { (String(repeating: "[", count: depth) + String(repeating: "]", count: depth)).codePoints }
        let dumped = try PythonJSON.loads(nested(990)).dumped
        #expect(dumped.codePoints == nested(990))
        var refused: PythonJSON.DecodeError?
        do {
            _ = try PythonJSON.loads(nested(1001))
        } catch {
            refused = error
        }
        #expect(refused == .recursion)
    }

    /// 50,000 open brackets, whole and streamed a piece at a time through every parser: each finishes.
    @Test(arguments: ["hermes", "llama3_json", "mistral", "mistral-pre-v11", "required"])
    func deepBracketsEndEveryParser(parser: String) async throws {
        let brackets = String(repeating: "[", count: 50_000)
        let text: String
        switch parser {
        case "hermes": text = #"<tool_call>{"name": "f", "arguments": {"x": "# + brackets
        case "llama3_json": text = #"{"name": "f", "parameters": "# + brackets
        case "mistral": text = #"[TOOL_CALLS]f{"a": "# + brackets
        case "mistral-pre-v11": text = #"[TOOL_CALLS] [{"name": "f", "arguments": {"a": "# + brackets
        default: text = #"[{"name": "f", "parameters": {"a": "# + brackets
        }
        let kind = ToolCallParserKind(rawValue: parser.hasPrefix("mistral") ? "mistral" : parser == "required" ? "hermes" : parser)
        let choice: ToolChoice = parser == "required" ? .required : .auto
        let hasArgs = parser != "mistral-pre-v11"
        do {
            let parsing = try #require(ToolCallParsing(choice: choice, kind: kind, hasTools: true) { $0 != "[ARGS]" || hasArgs })
            _ = try? parsing.parse(text, finishReason: .length)
            var stream = parsing
            let scalars = Array(text.unicodeScalars)
            var start = 0
            while start < scalars.count {
                // The prefix, then the brackets in pieces of 10,000.
                let end = min(scalars.count, start == 0 ? scalars.count - 50_000 : start + 10_000)
                let piece = String(String.UnicodeScalarView(scalars[start..<end]))
                start = end
                do throws(OpenAIError) {
                    _ = try stream.parseDelta(piece, finished: start == scalars.count)
                } catch {
                    #expect(parser == "required" && error.status == 500, "\(parser): \(error)")
                    break
                }
            }
        }
    }
}
