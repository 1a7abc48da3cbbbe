import Testing
import VLLMServer

/// The demo model's byte tokenizer: text round-trips; streaming never splits a character.
@Suite struct ByteTokenizerTests {
    @Test func roundTripsAndSkipsSpecialTokens() throws {
        let tokenizer = ByteTokenizer(vocabSize: 512)
        let ids = try tokenizer.encode("héllo ✓", addSpecialTokens: true)
        #expect(ids.first == 1)
        #expect(ids.count == 1 + "héllo ✓".utf8.count)
        #expect(try tokenizer.decode(ids, skipSpecialTokens: true) == "héllo ✓")
        #expect(try tokenizer.decode(ids + [2, 400], skipSpecialTokens: false) == "<s>héllo ✓</s><400>")
    }

    @Test func streamingHoldsBackIncompleteCharacters() throws {
        let tokenizer = ByteTokenizer(vocabSize: 512)
        var detokenizer = tokenizer.makeDetokenizer(promptTokenIds: [], skipSpecialTokens: true, spacesBetweenSpecialTokens: true)
        var pieces: [String] = []
        // Specials and ids past the byte range first: they must produce nothing, not crash.
        for id in [1, 2, 300] + (try tokenizer.encode("a✓é", addSpecialTokens: false)) {
            pieces.append(detokenizer.append(id))
        }
        pieces.append(detokenizer.finish())
        #expect(pieces.joined() == "a✓é")
        #expect(pieces.allSatisfy { !$0.unicodeScalars.contains("\u{FFFD}") })
        #expect(pieces.filter { !$0.isEmpty } == ["a", "✓", "é"])
    }
}
