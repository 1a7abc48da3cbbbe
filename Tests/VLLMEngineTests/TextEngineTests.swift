import Foundation
import Testing
import VLLMCPU
import VLLMCore
import VLLMEngine
import VLLMTokenizers

/// Text out of the engine with a real tokenizer (stories260K), against HF's decode of transformers'
/// greedy story (goldens of scripts/make_model_goldens.py).
@Suite struct TextEngineTests {
    struct Story: Decodable { var prompt_token_ids: [Int]; var greedy_token_ids: [Int]; var hf_text: String }

    static func setUp() throws -> (LLM, Story)? {
        guard let shared = EngineParityTests.stories260K else { return nil }
        let story = try JSONDecoder().decode(Story.self, from: Data(contentsOf: EngineParityTests.goldens.appendingPathComponent("stories260K.json")))
        var args = EngineArgs(model: shared)
        args.kvCacheMemory = 1 << 22
        return (try LLM(args: args, backend: CPUBackend(), detokenizer: try Tokenizer.load(modelDirectory: shared)), story)
    }

    func greedy(_ n: Int) -> SamplingParams {
        var p = EngineParityTests.greedy(n)
        p.detokenize = true
        return p
    }

    @Test func streamedTextEqualsHFDecode() throws {
        guard let (llm, story) = try Self.setUp() else { return }
        let output = try llm.generate([story.prompt_token_ids], params: [greedy(story.greedy_token_ids.count)])[0].outputs[0]
        #expect(output.tokenIds == story.greedy_token_ids)
        #expect(output.text == story.hf_text)
    }

    /// Stop strings that begin in one token and end in another cut the text just before them.
    @Test(arguments: ["ittle gi", "d, \"Lily", "outside in", ". One"])
    func stopStringsSpanningTokens(stop: String) throws {
        guard let (llm, story) = try Self.setUp() else { return }
        var p = greedy(story.greedy_token_ids.count)
        p.stop = [stop]
        let output = try llm.generate([story.prompt_token_ids], params: [p])[0].outputs[0]
        let expected = String(story.hf_text[..<story.hf_text.range(of: stop)!.lowerBound])
        #expect(output.text == expected)
        #expect(output.finishReason == .stop)
        #expect(output.stopReason == .string(stop))
        p.includeStopStrInOutput = true
        let included = try llm.generate([story.prompt_token_ids], params: [p])[0].outputs[0]
        #expect(included.text == expected + stop)
    }
}
