import Foundation
import Testing

@testable import VLLMTokenizers

/// Loading errors, configuration, and the hand-written split matchers.
@Suite struct ComponentTests {
    /// A minimal tokenizer.json around one component.
    private func tokenizerJSON(normalizer: String = "null", preTokenizer: String = "null", decoder: String = "null",
                               model: String = #"{"type": "WordLevel", "vocab": {"a": 0, "[UNK]": 1}, "unk_token": "[UNK]"}"#) -> [UInt8] {
        Array("""
            {"version": "1.0", "added_tokens": [], "normalizer": \(normalizer), "pre_tokenizer": \(preTokenizer),
             "post_processor": null, "decoder": \(decoder), "model": \(model)}
            """.utf8)
    }

    @Test func unknownComponentsAreNamed() throws {
        #expect(throws: TokenizerError.unsupportedComponent(kind: "normalizer", type: "FancyNormalizer")) {
            try Tokenizer(tokenizerJSON: tokenizerJSON(normalizer: #"{"type": "FancyNormalizer"}"#))
        }
        #expect(throws: TokenizerError.unsupportedComponent(kind: "pre-tokenizer", type: "UnicodeScripts")) {
            try Tokenizer(tokenizerJSON: tokenizerJSON(preTokenizer: #"{"type": "Sequence", "pretokenizers": [{"type": "UnicodeScripts"}]}"#))
        }
        #expect(throws: TokenizerError.unsupportedComponent(kind: "decoder", type: "Mystery")) {
            try Tokenizer(tokenizerJSON: tokenizerJSON(decoder: #"{"type": "Mystery"}"#))
        }
        #expect(throws: TokenizerError.unsupportedComponent(kind: "normalizer", type: "Precompiled")) {
            try Tokenizer(tokenizerJSON: tokenizerJSON(normalizer: #"{"type": "Precompiled", "precompiled_charsmap": "AAAA"}"#))
        }
        #expect(throws: TokenizerError.unsupportedComponent(kind: "model", type: "Mystery")) {
            try Tokenizer(tokenizerJSON: tokenizerJSON(model: #"{"type": "Mystery"}"#))
        }
    }

    @Test func unsupportedRegexIsAnError() throws {
        let split = #"{"type": "Split", "pattern": {"Regex": "(?<=a)b"}, "behavior": "Isolated", "invert": false}"#
        do {
            _ = try Tokenizer(tokenizerJSON: tokenizerJSON(preTokenizer: split))
            Issue.record("a lookbehind pattern loaded")
        } catch let error as TokenizerError {
            guard case .invalidPattern(let pattern, let message) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(pattern == "(?<=a)b")
            #expect(message.contains("lookbehind"))
        }
    }

    @Test func malformedFilesNameTheProblem() throws {
        do {
            _ = try Tokenizer(tokenizerJSON: Array("{\"model\": {\"type\": \"BPE\",\n \"vocab\": [}".utf8))
            Issue.record("malformed JSON loaded")
        } catch let error as TokenizerError {
            #expect("\(error)".contains("line 2"))
        }
        let badMerge = #"{"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b"]}"#
        do {
            _ = try Tokenizer(tokenizerJSON: tokenizerJSON(model: badMerge))
            Issue.record("a merge producing an unknown token loaded")
        } catch let error as TokenizerError {
            #expect("\(error)".contains("\"ab\""))
        }
    }

    @Test func configOnlyFolderIsAClearError() throws {
        let qwen3 = GoldenSupport.shared.appendingPathComponent("tokenizers/qwen3")
        guard FileManager.default.fileExists(atPath: qwen3.path) else {
            if GoldenSupport.isCI { Issue.record("\(qwen3.path) is missing (CI=true)") }
            return
        }
        #expect(throws: TokenizerError.self) { try Tokenizer.load(modelDirectory: qwen3) }
        // The config alone still gives the chat template and added tokens.
        let config = try Tokenizer.loadConfig(modelDirectory: qwen3)
        #expect(config.chatTemplate?.contains("<|im_start|>") == true)
        #expect(config.addedTokens.contains { $0.content == "<think>" && !$0.isSpecial })
        #expect(config.eosToken == "<|im_end|>")
        #expect(config.addBosToken == false)
    }

    @Test func vocabularyAndSpecialTokens() throws {
        guard let qwen = try GoldenSupport.tokenizer("qwen2.5"), let stories = try GoldenSupport.tokenizer("stories260K"),
            let gpt2 = try GoldenSupport.tokenizer("gpt2")
        else { return }
        #expect(qwen.tokenToId("<|im_start|>") == 151644)
        #expect(qwen.idToToken(151644) == "<|im_start|>")
        #expect(qwen.vocabSize == 151665)
        #expect(qwen.eosTokenId == 151645)
        #expect(qwen.bosTokenId == nil)
        #expect(qwen.allSpecialIds.contains(151643))
        #expect(!qwen.allSpecialIds.contains(151657))  // <tool_call> is not special
        #expect(qwen.modelMaxLength == 131072)
        #expect(stories.bosTokenId == 1 && stories.eosTokenId == 2)
        #expect(stories.encode("hi").first == 1)
        #expect(gpt2.modelMaxLength == Int.max)  // 1e30 in the file
        #expect(gpt2.tokenToId("Ġthe") == 262)
    }

    @Test func chatTemplateListTakesDefault() throws {
        let json = try JSONValue.parse(
            Array(#"{"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}]}"#.utf8),
            source: "test")
        let config = try TokenizerConfig(json: json, specialTokensMap: nil)
        #expect(config.chatTemplate == "D")
        #expect(config.namedChatTemplates["tool_use"] == "T")
    }

    /// The hand-written GPT-2 / Llama-3 / Qwen matchers agree with the general regex engine on the corpus.
    @Test func knownPatternsMatchTheRegexEngine() throws {
        var texts = (try GoldenSupport.golden("gpt2")["cases"]?.arrayValue ?? []).compactMap { $0["text"]?.stringValue }
        texts += ["'s'S'ſ'x 'll'LL 'RE've", "  \n\n  x\r\n\r\n y \t\n", "123456789 a1b22c333", "(hello) .world !!\n\n"]
        for (source, known) in [
            (KnownSplitPattern.gpt2Source, KnownSplitPattern.gpt2), (KnownSplitPattern.llama3Source, .llama3(maxDigits: 3)),
            (KnownSplitPattern.qwenSource, .llama3(maxDigits: 1)),
        ] {
            let regex = try PatternRegex(source)
            for text in texts {
                let scalars = UTF8Scalars.scalars(text)
                scalars.withUnsafeBufferPointer { buffer in
                    #expect(known.matches(in: buffer) == regex.matches(in: buffer), "\(source) on \(text.debugDescription)")
                }
            }
        }
    }

    /// One tokenizer shared by concurrent tasks (the BPE word cache is shared) gives the serial results.
    @Test func concurrentEncodesAgree() async throws {
        guard let tokenizer = try GoldenSupport.tokenizer("qwen2.5") else { return }
        let texts = (try GoldenSupport.golden("qwen2.5")["cases"]?.arrayValue ?? []).compactMap { $0["text"]?.stringValue }
        let serial = texts.map { tokenizer.encode($0) }
        let parallel = await withTaskGroup(of: (Int, [Int]).self) { group in
            for (index, text) in texts.enumerated() {
                group.addTask { (index, tokenizer.encode(text)) }
            }
            var results = [[Int]](repeating: [], count: texts.count)
            for await (index, ids) in group { results[index] = ids }
            return results
        }
        #expect(parallel == serial)
    }
}
