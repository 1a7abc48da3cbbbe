import Foundation
import VLLMEngine
import VLLMServer
import VLLMTemplates
import VLLMTokenizers

/// A HuggingFace tokenizer as the server and the engine need it.
struct HFTokenizerAdapter: TextTokenizer, DetokenizerFactory {
    let tokenizer: Tokenizer
    /// The longest spelling in the vocabulary, in UTF-8 bytes — at least the text any one token covers
    /// (byte-level and SentencePiece spellings are longer than their bytes, never shorter).
    let longestTokenBytes: Int

    init(tokenizer: Tokenizer) {
        self.tokenizer = tokenizer
        longestTokenBytes = max(1, (0..<tokenizer.vocabSize).reduce(0) { max($0, tokenizer.idToToken($1)?.utf8.count ?? 0) })
    }

    func encode(_ text: String, addSpecialTokens: Bool) throws -> [Int] {
        tokenizer.encode(text, addSpecialTokens: addSpecialTokens)
    }

    func decode(_ tokenIds: [Int], skipSpecialTokens: Bool) throws -> String {
        tokenizer.decode(tokenIds, skipSpecialTokens: skipSpecialTokens)
    }

    func encodePair(_ a: String, _ b: String) throws -> (ids: [Int], typeIds: [Int]) { tokenizer.encodePair(a, b) }

    var vocabSize: Int { tokenizer.vocabSize }

    func tokenString(_ tokenId: Int) -> String? { tokenizer.idToToken(tokenId) }

    func tokenId(_ token: String) -> Int? { tokenizer.tokenToId(token) }

    func makeDetokenizer(promptTokenIds: [Int], skipSpecialTokens: Bool, spacesBetweenSpecialTokens: Bool)
        -> any StreamingDetokenizer
    {
        tokenizer.makeDetokenizer(
            promptTokenIds: promptTokenIds, skipSpecialTokens: skipSpecialTokens,
            spacesBetweenSpecialTokens: spacesBetweenSpecialTokens)
    }

    func tokenBytes() -> [[UInt8]?] { tokenizer.tokenBytes() }
}

