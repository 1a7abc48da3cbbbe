import VLLMTokenizers

/// A tokenizer.json tokenizer streams the engine's text.
extension Tokenizer: DetokenizerFactory {
    public func makeDetokenizer(promptTokenIds: [Int], skipSpecialTokens: Bool, spacesBetweenSpecialTokens: Bool)
        -> any StreamingDetokenizer {
        IncrementalDetokenizer(tokenizer: self, promptIds: promptTokenIds, skipSpecialTokens: skipSpecialTokens,
                               spacesBetweenSpecialTokens: spacesBetweenSpecialTokens)
    }
}

extension IncrementalDetokenizer: StreamingDetokenizer {}
