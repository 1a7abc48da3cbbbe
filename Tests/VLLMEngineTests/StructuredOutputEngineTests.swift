import Foundation
import Testing
import VLLMCore
import VLLMCPU
import VLLMEngine
import VLLMTokenizers

/// Structured outputs through the whole engine on stories260K (a model that never saw JSON): whatever it
/// samples, the text obeys the grammar — checked by parsers nobody here wrote (Foundation's JSON,
/// NSRegularExpression) — and ends when the grammar does.
@Suite struct StructuredOutputEngineTests {
    static func params(_ spec: StructuredOutputs, seed: Int, temperature: Float = 1) -> SamplingParams {
        var p = SamplingParams()
        p.structuredOutputs = spec
        p.temperature = temperature
        p.seed = seed
        p.maxTokens = 400
        return p
    }

    @Test func jsonSchemaOutputsParseAndFollowTheSchema() throws {
        guard let (llm, story) = try TextEngineTests.setUp() else { return }
        let schema = #"""
            {"type": "object", "title": "Poem", "required": ["title", "content"],
             "properties": {"title": {"type": "string", "maxLength": 12}, "content": {"type": "string", "maxLength": 60},
                            "lines": {"type": "integer", "minimum": 1, "maximum": 40}}}
            """#
        let prompts = Array(repeating: story.prompt_token_ids, count: 6)
        // A model that never saw JSON writes whitespace forever where the grammar allows any: vLLM's
        // disable_any_whitespace allows none.
        let params = (0..<6).map { Self.params(.json(schema, anyWhitespace: false), seed: $0, temperature: $0 == 0 ? 0 : 1) }
        let outputs = try llm.generate(prompts, params: params)
        for output in outputs {
            let completion = output.outputs[0]
            let parsed = try? JSONSerialization.jsonObject(with: Data(completion.text.utf8)) as? [String: Any]
            let object = try #require(parsed, "not a JSON object: \(completion.text)")
            #expect((object["title"] as? String).map { $0.count <= 12 } == true, "\(completion.text)")
            #expect((object["content"] as? String).map { $0.count <= 60 } == true)
            if let lines = object["lines"] { #expect((lines as? Int).map { (1...40).contains($0) } == true) }
            #expect(Set(object.keys).isSubset(of: ["title", "content", "lines"]))
            #expect(completion.finishReason == .stop, "ended by \(String(describing: completion.finishReason)): \(completion.text)")
        }
    }

    @Test func regexChoiceAndGrammar() throws {
        guard let (llm, story) = try TextEngineTests.setUp() else { return }
        let prompt = [story.prompt_token_ids]
        let regex = #"[a-z]{3,8}-\d{2}"#
        for seed in 0..<4 {
            let text = try llm.generate(prompt, params: [Self.params(.regex(regex), seed: seed)])[0].outputs[0].text
            let matcher = try NSRegularExpression(pattern: "^" + regex + "$")
            #expect(matcher.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil, "\(text)")
            let choice = try llm.generate(prompt, params: [Self.params(.choice(["sunny", "rainy", "cloudy day"]), seed: seed)])
            #expect(["sunny", "rainy", "cloudy day"].contains(choice[0].outputs[0].text))
            let ebnf = #"root ::= "The " animal " is " ("big" | "small") "."  animal ::= "cat" | "dog""#
            let sentence = try llm.generate(prompt, params: [Self.params(.grammar(ebnf), seed: seed)])[0].outputs[0].text
            #expect(try NSRegularExpression(pattern: "^The (cat|dog) is (big|small)\\.$")
                .firstMatch(in: sentence, range: NSRange(sentence.startIndex..., in: sentence)) != nil, "\(sentence)")
        }
    }

    @Test func badSpecsAreRefusedAndNothingIsLeftBehind() throws {
        guard let (llm, story) = try TextEngineTests.setUp() else { return }
        for spec in [StructuredOutputs.json("{\"type\": \"objekt\"}"), .json("{not json"), .regex("(ab"),
                     .grammar("root ::= root \"a\""), .choice([])] {
            #expect(throws: VLLMValidationError.self) {
                _ = try llm.generate([story.prompt_token_ids], params: [Self.params(spec, seed: 0)])
            }
        }
        // The engine still serves, a structured and a free request side by side.
        var free = SamplingParams()
        free.maxTokens = 5
        let outputs = try llm.generate([story.prompt_token_ids, story.prompt_token_ids],
                                       params: [Self.params(.choice(["yes", "no"]), seed: 1), free])
        #expect(["yes", "no"].contains(outputs[0].outputs[0].text))
        #expect(outputs[1].outputs[0].tokenIds.count == 5)
    }
}

extension StructuredOutputEngineTests {
    /// With async scheduling a structured step's forward is launched before the last step is back and its
    /// sampling after: the tokens are the ones the synchronous loop samples.
    @Test func asyncSchedulingSamplesWhatTheSynchronousLoopSamples() throws {
        guard let (_, story) = try TextEngineTests.setUp(), let folder = EngineParityTests.stories260K else { return }
        var results: [[[Int]]] = []
        for async in [false, true] {
            var args = EngineArgs(model: folder)
            args.kvCacheMemory = 1 << 22
            args.asyncScheduling = async
            let llm = try LLM(args: args, backend: CPUBackend(), detokenizer: try Tokenizer.load(modelDirectory: folder))
            let specs: [StructuredOutputs?] = [.regex("[a-z ]{4,30}\\."), nil, .choice(["yes", "no"]),
                                               .json(#"{"type": "array", "items": {"type": "integer"}, "maxItems": 5}"#, anyWhitespace: false)]
            let params = specs.enumerated().map { index, spec -> SamplingParams in
                var p = Self.params(spec ?? .jsonObject(), seed: 40 + index)
                p.structuredOutputs = spec
                p.maxTokens = 60
                return p
            }
            let outputs = try llm.generate(Array(repeating: story.prompt_token_ids, count: specs.count), params: params)
            results.append(outputs.map { $0.outputs[0].tokenIds })
        }
        #expect(results[0] == results[1])
    }
}

extension StructuredOutputEngineTests {
    /// With a reasoning model the grammar starts after the end of thinking (`structuredOutputsAfterTokenIds`,
    /// `</think>` on the server, or qwen3's `<tool_call>`): greedy tokens are the free story's up to and
    /// including the first of those tokens, then the grammar's.
    @Test func grammarStartsAfterTheReasoningEndToken() throws {
        guard let (llm, story) = try TextEngineTests.setUp() else { return }
        let ends = [story.greedy_token_ids[6], story.greedy_token_ids[4]]
        let through = story.greedy_token_ids.firstIndex(where: ends.contains)!
        var p = Self.params(.choice(["yes", "no"]), seed: 0, temperature: 0)
        p.structuredOutputsAfterTokenIds = ends
        p.maxTokens = 60
        let output = try llm.generate([story.prompt_token_ids], params: [p])[0].outputs[0]
        #expect(Array(output.tokenIds.prefix(through + 1)) == Array(story.greedy_token_ids.prefix(through + 1)))
        #expect(output.text.hasSuffix("yes") || output.text.hasSuffix("no"), "\(output.text)")
        #expect(output.finishReason == .stop)
    }
}
