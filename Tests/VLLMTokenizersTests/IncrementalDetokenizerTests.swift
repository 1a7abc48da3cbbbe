import Foundation
import Testing

@testable import VLLMTokenizers

/// The streaming detokenizer against HF's decode of the whole sequence and HF's DecodeStream deltas.
@Suite struct IncrementalDetokenizerTests {
    @Test(arguments: GoldenSupport.tokenizerNames)
    func deltasMatchHF(name: String) throws {
        guard let tokenizer = try GoldenSupport.tokenizer(name) else { return }
        for item in try GoldenSupport.golden(name)["detokenize"]?.arrayValue ?? [] {
            let ids = item["ids"]?.intArray ?? []
            for skip in [true, false] {
                let expected = (skip ? item["decoded"] : item["decoded_with_special"])?.stringValue ?? ""
                var detokenizer = IncrementalDetokenizer(tokenizer: tokenizer, skipSpecialTokens: skip)
                var deltas: [String] = []
                for id in ids { deltas.append(detokenizer.append(id)) }
                let tail = detokenizer.finish()
                let stream = skip ? item["stream"]?.arrayValue?.compactMap(\.stringValue) : nil
                // HF's DecodeStream itself loses a space where a decoder strips the start of every window
                // twice (Metaspace then Strip, only in a synthetic file); there vLLM parity is what we check.
                if let stream, !stream.joined().utf8.elementsEqual(expected.utf8) {
                    #expect(deltas == stream, "\(name): deltas differ from HF DecodeStream")
                    continue
                }
                #expect((deltas.joined() + tail).utf8.elementsEqual(expected.utf8), "\(name) skip=\(skip)")
                if !expected.unicodeScalars.contains("\u{FFFD}") {
                    #expect(!deltas.contains { $0.unicodeScalars.contains("\u{FFFD}") }, "\(name): a delta split a character")
                }
                if let stream { #expect(deltas == stream, "\(name): deltas differ from HF DecodeStream") }
            }
        }
    }

    /// With a prompt, the deltas continue the prompt's text: decode(prompt + output) minus decode(prompt).
    @Test(arguments: GoldenSupport.tokenizerNames)
    func promptContext(name: String) throws {
        guard let tokenizer = try GoldenSupport.tokenizer(name) else { return }
        for item in try GoldenSupport.golden(name)["detokenize"]?.arrayValue ?? [] {
            let ids = item["ids"]?.intArray ?? []
            guard ids.count > 8 else { continue }
            let prompt = Array(ids.prefix(6))
            let whole = tokenizer.decode(ids)
            let promptText = tokenizer.decode(prompt)
            guard whole.unicodeScalars.starts(with: promptText.unicodeScalars), name != "syn-metaspace-bytefallback" else { continue }
            var detokenizer = IncrementalDetokenizer(tokenizer: tokenizer, promptIds: prompt)
            var text = ""
            for id in ids.dropFirst(6) { text += detokenizer.append(id) }
            text += detokenizer.finish()
            #expect(Array(text.unicodeScalars) == Array(whole.unicodeScalars.dropFirst(promptText.unicodeScalars.count)), "\(name)")
        }
    }

    @Test func holdsBackIncompleteCharacters() throws {
        guard let tokenizer = try GoldenSupport.tokenizer("qwen2.5") else { return }
        // "😀" is four bytes; byte-level BPE may split it over several tokens.
        let ids = tokenizer.encode("a😀🤗b", addSpecialTokens: false)
        var detokenizer = IncrementalDetokenizer(tokenizer: tokenizer)
        let deltas = ids.map { detokenizer.append($0) }
        #expect(deltas.joined() == "a😀🤗b")
        #expect(deltas.allSatisfy { !$0.unicodeScalars.contains("\u{FFFD}") })
    }

    /// vLLM's spaces_between_special_tokens=false: an added token right after another comes out bare,
    /// without the space the WordPiece decoder puts before it.
    @Test func spacesBetweenSpecialTokens() throws {
        guard let tokenizer = try GoldenSupport.tokenizer("all-MiniLM-L6-v2") else { return }
        let ids = [101, 102, 7592]  // [CLS] [SEP] hello
        var spaced = IncrementalDetokenizer(tokenizer: tokenizer, skipSpecialTokens: false)
        #expect(ids.map { spaced.append($0) } == ["[CLS]", " [SEP]", " hello"])
        #expect(tokenizer.decode(ids, skipSpecialTokens: false) == "[CLS] [SEP] hello")
        var bare = IncrementalDetokenizer(tokenizer: tokenizer, skipSpecialTokens: false, spacesBetweenSpecialTokens: false)
        #expect(ids.map { bare.append($0) } == ["[CLS]", "[SEP]", " hello"])
    }
}
