import Foundation
import Testing
@testable import VLLMServer

/// The reasoning parsers against vLLM 0.26's own (scripts/make_reasoning_goldens.py runs its parser engine,
/// Qwen3Parser, DeepSeekR1ReasoningParser and the DelegatingParser its chat server drives): whole answers,
/// streamed deltas for every chunking, and where a structured output starts.
@Suite struct ReasoningParserTests {
    struct Golden: Decodable {
        var prompts: [String: String]
        var cases: [Case]
        var sequences: [[String]]
        var grammar_outputs: [[String]]
        var reasoning_end: [ReasoningEnd]
    }

    struct Case: Decodable {
        var parser: String
        var output: String
        var chat_template_kwargs: [String: JSONValue]
        var whole: [String?]
        var streams: [Stream]
    }

    struct Stream: Decodable {
        var vocabulary: String
        var prompt: String
        var tokens: Int?
        var characters: Int?
        var pieces: [String]?
        var deltas: [Delta?]
        /// Text vLLM drops without a tool-call parser, which ours keeps in that delta's content.
        var dropped: [String: String]?
    }

    /// "content", ["reasoning"] or ["reasoning", "content"].
    struct Delta: Decodable, Equatable, CustomStringConvertible {
        var reasoning: String?
        var content: String?

        init(reasoning: String?, content: String?) { (self.reasoning, self.content) = (reasoning, content) }

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let content = try? container.decode(String.self) {
                self.init(reasoning: nil, content: content)
            } else {
                let parts = try container.decode([String].self)
                self.init(reasoning: parts[0], content: parts.count > 1 ? parts[1] : nil)
            }
        }

        var description: String { "(\(reasoning.debugDescription), \(content.debugDescription))" }
    }

    struct ReasoningEnd: Decodable {
        var parser: String
        var chat_template_kwargs: [String: JSONValue]
        var is_reasoning_end: [Bool]
        var grammar_starts_at: [Int?]
    }

    static let golden: Golden = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Goldens/reasoning.json")
        return try! JSONDecoder().decode(Golden.self, from: Data(contentsOf: url))
    }()

    // The script's fake tokenizers: the tags as Qwen3's ids ("tags" only), every other character 200000 + its
    // code point.
    static let tagIds = ["<think>": 151667, "</think>": 151668, "<tool_call>": 151657, "</tool_call>": 151658]
    static let tagTokens = ReasoningTokens(think: 151667, thinkEnd: 151668, toolCall: 151657, toolCallEnd: 151658)

    static func tokens(_ text: String, tags: Bool) -> [(text: String, id: Int)] {
        var out: [(String, Int)] = []
        var rest = Substring(text).unicodeScalars
        while let first = rest.first {
            if tags, let (tag, id) = tagIds.first(where: { rest.starts(with: $0.key.unicodeScalars) }) {
                out.append((tag, id))
                rest = rest.dropFirst(tag.unicodeScalars.count)
            } else {
                out.append((String(first), 200_000 + Int(first.value)))
                rest = rest.dropFirst()
            }
        }
        return out
    }

    static func chunks(_ output: String, _ stream: Stream) -> [String] {
        if let pieces = stream.pieces { return pieces }
        let size = stream.tokens ?? stream.characters!
        let all = tokens(output, tags: stream.vocabulary == "tags").map(\.text)
        return stride(from: 0, to: all.count, by: size).map { all[$0..<min($0 + size, all.count)].joined() }
    }

    @Test func wholeAnswersSplitAsVLLMSplitsThem() throws {
        for test in Self.golden.cases {
            let parser = try #require(
                ReasoningParser(name: test.parser, chatTemplateKwargs: test.chat_template_kwargs, tokens: Self.tagTokens))
            let (reasoning, content) = parser.extract(test.output)
            #expect([reasoning, content] == test.whole, "\(test.parser) \(test.chat_template_kwargs): \(test.output.debugDescription)")
        }
    }

    @Test func streamedDeltasAreVLLMs() throws {
        var numStreams = 0
        for test in Self.golden.cases {
            for stream in test.streams {
                let tags = stream.vocabulary == "tags"
                let parser = try #require(
                    ReasoningParser(name: test.parser, chatTemplateKwargs: test.chat_template_kwargs,
                                    tokens: tags ? Self.tagTokens : ReasoningTokens()))
                let prompt = try #require(Self.golden.prompts[stream.prompt])
                var streaming = parser.stream(promptTokenIds: Self.tokens(prompt, tags: tags).map(\.id))
                let chunks = Self.chunks(test.output, stream)
                try #require(chunks.count == stream.deltas.count)
                var got: [Delta?] = []
                for (i, chunk) in chunks.enumerated() {
                    let (reasoning, content) = streaming.feed(
                        chunk, tokenIds: Self.tokens(chunk, tags: tags).map(\.id), finished: i == chunks.count - 1)
                    got.append(reasoning == nil && content == nil ? nil : Delta(reasoning: reasoning, content: content))
                }
                let expected = stream.deltas.enumerated().map { i, delta -> Delta? in
                    guard let kept = stream.dropped?[String(i)] else { return delta }
                    return Delta(reasoning: delta?.reasoning, content: (delta?.content ?? "") + kept)
                }
                #expect(got == expected, """
                    \(test.parser) \(test.chat_template_kwargs) \(stream.vocabulary) prompt \(stream.prompt) \
                    \(stream.tokens.map { "\($0) tokens" } ?? stream.characters.map { "\($0) characters" } ?? "pieces"): \
                    \(test.output.debugDescription)
                    """)
                numStreams += 1
            }
        }
        #expect(numStreams > 400)
    }

    /// vLLM's `is_reasoning_end` on token sequences, and where its structured-output manager starts the grammar
    /// (after the prompt "open" or "closed", one token a step) — ours: after the first token of
    /// `structuredOutputStart`.
    @Test func structuredOutputsStartWhereVLLMsDo() throws {
        for test in Self.golden.reasoning_end {
            let parser = try #require(
                ReasoningParser(name: test.parser, chatTemplateKwargs: test.chat_template_kwargs, tokens: Self.tagTokens))
            let ids = { (tokens: [String]) in tokens.flatMap { Self.tokens($0, tags: true).map(\.id) } }
            #expect(Self.golden.sequences.map { parser.isReasoningEnd(ids($0)) } == test.is_reasoning_end, "\(test.parser)")
            var starts: [Int?] = []
            for prompt in ["open", "closed"] {
                let promptIds = Self.tokens(try #require(Self.golden.prompts[prompt]), tags: true).map(\.id)
                for output in Self.golden.grammar_outputs {
                    let after = try #require(parser.structuredOutputStart(promptTokenIds: promptIds))
                    starts.append(after.isEmpty ? 0 : ids(output).firstIndex(where: after.contains).map { $0 + 1 })
                }
            }
            #expect(starts == test.grammar_starts_at, "\(test.parser) \(test.chat_template_kwargs)")
        }
    }

    /// deepseek_r1 over a tokenizer without the tags as tokens (vLLM refuses to start it then): the tags are
    /// found in the text, a suffix that may begin one held back, and each piece read as vLLM reads a piece.
    @Test func deepseekFindsTagsInTheTextWithoutTagTokens() throws {
        let parser = try #require(ReasoningParser(name: "deepseek_r1"))
        func deltas(_ pieces: [String]) -> [Delta?] {
            var stream = parser.stream(promptTokenIds: [])
            return pieces.enumerated().map { i, piece in
                let (reasoning, content) = stream.feed(piece, tokenIds: [], finished: i == pieces.count - 1)
                return reasoning == nil && content == nil ? nil : Delta(reasoning: reasoning, content: content)
            }
        }
        let one = "<think>ab</think>cd".map(String.init)
        let r = { (text: String) in Delta(reasoning: text, content: nil) }
        let c = { (text: String) in Delta(reasoning: nil, content: text) }
        #expect(deltas(one) == Array(repeating: nil, count: 7) + [r("a"), r("b")] + Array(repeating: nil, count: 8) + [c("c"), c("d")])
        #expect(deltas(["x<", "/t", "hi", "nk", ">y", "</think>"]) == [r("x"), nil, nil, nil, Delta(reasoning: "", content: "y"), c("</think>")])
        #expect(deltas(["<th", "ink", ">ab", "</", "think>c<"]) == [nil, nil, r("<think>ab"), nil, Delta(reasoning: "", content: "c<")])
        #expect(deltas(["a", "<"]) == [r("a"), r("<")])
    }

    /// `enable_thinking` is read as Python reads a value: only a false one turns thinking off.
    @Test func enableThinkingIsPythonTruth() throws {
        let off: [JSONValue] = [.bool(false), .null, .int(0), .double(0), .string(""), .array([]), .object([:])]
        let on: [JSONValue] = [.bool(true), .int(1), .string("false"), .array([.null])]
        for value in off + on {
            let parser = try #require(ReasoningParser(name: "qwen3", chatTemplateKwargs: ["enable_thinking": value]))
            #expect(parser.isThinkingEnabled == on.contains(value), "\(value)")
        }
        #expect(try #require(ReasoningParser(name: "qwen3", chatTemplateKwargs: [:])).isThinkingEnabled)
        #expect(try #require(ReasoningParser(name: "deepseek_r1", chatTemplateKwargs: ["enable_thinking": .bool(false)])).isThinkingEnabled)
    }

    /// Through the server (the fake engine echoes the prompt, `<|user|><think>a</think>b…`; its tokenizer has
    /// no tag tokens): the request's `chat_template_kwargs` reach the parser, whole and streamed, and special
    /// tokens stay in the text as vLLM's qwen3 parser asks.
    @Test func chatRequestsReadEnableThinking() async throws {
        let harness = TestHarness(maxModelLen: 128) { $0.reasoningParser = "qwen3" }
        try await harness.test { client in
            for (kwargs, reasoning, content, streamedContent) in [
                ("{}", "<|user|>a", "b", "b"),
                // Thinking off: all content, whole; streamed, the engine drops `</think>` (as vLLM's does).
                (#"{"enable_thinking": false}"#, nil, "<|user|><think>a</think>b", "<|user|><think>ab"),
            ] {
                let body = #"{"messages": [{"role": "user", "content": "<think>a</think>b"}], "max_tokens": 25, "#
                    + #""chat_template_kwargs": \#(kwargs)"#
                let whole = try await client.post("/v1/chat/completions", body + "}")
                let message = choices(whole.json).first?["message"] as? [String: Any]
                #expect(message?["reasoning"] as? String == reasoning, "\(kwargs)")
                #expect(message?["content"] as? String == content, "\(kwargs)")
                let streamed = try await client.post("/v1/chat/completions", body + #", "stream": true}"#)
                let deltas = streamed.eventObjects.flatMap(choices).compactMap { $0["delta"] as? [String: Any] }
                #expect(deltas.compactMap { $0["reasoning"] as? String }.joined() == reasoning ?? "", "\(kwargs)")
                #expect(deltas.compactMap { $0["content"] as? String }.joined() == streamedContent, "\(kwargs)")
            }
            #expect(harness.engine.requests.allSatisfy { !$0.params.skipSpecialTokens })
        }
    }

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
