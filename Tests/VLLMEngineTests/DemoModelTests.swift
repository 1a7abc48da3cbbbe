import Testing
import VLLMCPU
import VLLMEngine

/// The built-in demo model runs end to end, and its byte tokenizer round-trips any text.
@Suite struct DemoModelTests {
    @Test func demoTokenizerRoundTripsText() throws {
        let tokenizer = try EngineArgs.demoTokenizer()
        for text in ["Hello, world!", "naïve café — 東京 🚀", " leading space\tand\nnewlines", ""] {
            let ids = tokenizer.encode(text, addSpecialTokens: false)
            #expect(ids.count == text.utf8.count)
            #expect(tokenizer.decode(ids) == text)
        }
    }

    @Test func demoModelGeneratesText() throws {
        let tokenizer = try EngineArgs.demoTokenizer()
        let llm = try LLM(args: EngineArgs(), backend: CPUBackend(), detokenizer: tokenizer)
        var p = EngineParityTests.greedy(12)
        p.detokenize = true
        let output = try llm.generate([tokenizer.encode("Once upon a time", addSpecialTokens: false)], params: [p])[0].outputs[0]
        #expect(output.tokenIds.count == 12)
        #expect(output.text == tokenizer.decode(output.tokenIds))
    }
}

extension DemoModelTests {
    @Test func demoTokenizerAddsBOS() throws {
        let tokenizer = try EngineArgs.demoTokenizer()
        #expect(tokenizer.encode("ab") == [1, Int(UInt8(ascii: "a")) + 3, Int(UInt8(ascii: "b")) + 3])
    }
}
