import Foundation
import VLLMEngine
import VLLMServer
import VLLMTemplates
import VLLMTokenizers

/// A HuggingFace tokenizer as the server and the engine need it.
struct HFTokenizerAdapter: TextTokenizer, DetokenizerFactory {
    let tokenizer: Tokenizer

    func encode(_ text: String, addSpecialTokens: Bool) throws -> [Int] {
        tokenizer.encode(text, addSpecialTokens: addSpecialTokens)
    }

    func decode(_ tokenIds: [Int], skipSpecialTokens: Bool) throws -> String {
        tokenizer.decode(tokenIds, skipSpecialTokens: skipSpecialTokens)
    }

    var vocabSize: Int { tokenizer.vocabSize }

    func tokenString(_ tokenId: Int) -> String? { tokenizer.idToToken(tokenId) }

    func makeDetokenizer(promptTokenIds: [Int], skipSpecialTokens: Bool, spacesBetweenSpecialTokens: Bool)
        -> any StreamingDetokenizer
    {
        tokenizer.makeDetokenizer(
            promptTokenIds: promptTokenIds, skipSpecialTokens: skipSpecialTokens,
            spacesBetweenSpecialTokens: spacesBetweenSpecialTokens)
    }
}

