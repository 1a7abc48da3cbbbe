/// A HuggingFace tokenizer loaded from a model folder: encode and decode exactly as HF `tokenizers` runs
/// that folder's tokenizer.json, with tokenizer_config.json applied as transformers 5 applies it (its
/// add_bos_token / add_eos_token only for the legacy vocab.json + merges.txt pair, since transformers drops
/// them when tokenizer.json exists; clean_up_tokenization_spaces on decode for non-BPE models), and no
/// truncation or padding (tokenizer.json's own settings for those are ignored, as transformers does).
///
/// Where a transformers class rebuilds its own pipeline instead of running the file, the file wins: e.g.
/// transformers 5's LlamaTokenizer on Phi-3's tokenizer.json drops the "▁" (29871) that the file's
/// Prepend normalizer puts before text following a special token or starting with a space.
///
/// Immutable after loading (the BPE word cache is behind a mutex), so one instance serves every thread.
public final class Tokenizer: Sendable {
    let normalizer: Normalizer?
    let preTokenizer: PreTokenizer?
    let model: TokenizerModel
    /// The post-processor in force: tokenizer.json's, or the BOS/EOS template transformers builds instead.
    let postProcessor: PostProcessor?
    let decoder: TokenDecoder?
    let addedVocabulary: AddedVocabulary
    let alphabet = ByteLevelAlphabet()
    /// Set when the pre-tokenizer is one of the byte-level pipelines real models ship (a known Split regex
    /// then ByteLevel without its regex, or ByteLevel with the GPT-2 regex and no prefix space), which
    /// `encode` runs fused, without a copy per word.
    let fusedByteLevelPattern: KnownSplitPattern?
    /// What tokenizer_config.json says.
    public let config: TokenizerConfig

    init(
        normalizer: Normalizer?, preTokenizer: PreTokenizer?, model: TokenizerModel, postProcessor: PostProcessor?,
        decoder: TokenDecoder?, addedTokens: [AddedToken], config: TokenizerConfig
    ) {
        self.normalizer = normalizer
        self.preTokenizer = preTokenizer
        self.model = model
        self.decoder = decoder
        self.config = config
        let added = AddedVocabulary(tokens: addedTokens, normalizer: normalizer)
        self.addedVocabulary = added
        switch preTokenizer {
        case .sequence(let steps) where steps.count == 2:
            if case .split(.known(let known), .isolated, false) = steps[0], case .byteLevel(false, false) = steps[1] {
                fusedByteLevelPattern = known
            } else {
                fusedByteLevelPattern = nil
            }
        case .byteLevel(false, true): fusedByteLevelPattern = .gpt2
        default: fusedByteLevelPattern = nil
        }
        // transformers 5 drops tokenizer_config.json's add_bos_token / add_eos_token when tokenizer.json
        // exists: the file's post-processor decides. Only the legacy vocab.json + merges.txt pair (no
        // post-processor of its own) takes "[BOS] $A [EOS]" from the config flags.
        if let postProcessor {
            self.postProcessor = postProcessor
        } else {
            func lookup(_ token: String?) -> Int? {
                token.flatMap { added.id($0) ?? model.vocabulary.id($0) }
            }
            var template: [TemplatePiece] = []
            if config.addBosToken == true, let bos = lookup(config.bosToken) { template.append(TemplatePiece(ids: [bos], sequence: 0, typeId: 0)) }
            template.append(TemplatePiece(ids: nil, sequence: 0, typeId: 0))
            if config.addEosToken == true, let eos = lookup(config.eosToken) { template.append(TemplatePiece(ids: [eos], sequence: 0, typeId: 0)) }
            self.postProcessor = .template(single: template, pair: nil)
        }
    }

    // MARK: Encoding

    /// The ids of `text`; with `addSpecialTokens`, the post-processor adds BOS/EOS/CLS/SEP as configured.
    public func encode(_ text: String, addSpecialTokens: Bool = true) -> [Int] {
        var ids: [Int] = []
        ids.reserveCapacity(text.utf8.count / 3 + 4)
        let scalars = UTF8Scalars.scalars(text)
        for raw in addedVocabulary.split(scalars, normalized: false) where !raw.range.isEmpty {
            if let id = raw.tokenId {
                ids.append(id)
                continue
            }
            let piece = Array(scalars[raw.range])
            let normalized = normalizer?.normalize(piece) ?? piece
            for part in addedVocabulary.split(normalized, normalized: true) where !part.range.isEmpty {
                if let id = part.tokenId {
                    ids.append(id)
                    continue
                }
                if let pattern = fusedByteLevelPattern {
                    encodeByteLevel(normalized[part.range], pattern: pattern, into: &ids)
                    continue
                }
                let isAtStart = raw.range.lowerBound == 0 && part.range.lowerBound == 0
                let text = TextPiece(scalars: Array(normalized[part.range]), isAtStart: isAtStart)
                let words = preTokenizer?.preTokenize([text], alphabet: alphabet) ?? [text]
                for word in words { model.tokenize(word.scalars, into: &ids) }
            }
        }
        if addSpecialTokens, let postProcessor { ids = postProcessor.process(ids) }
        return ids
    }

    /// A text pair (a cross-encoder's query and document) as HF tokenizers' `encode(a, b)`: each side
    /// tokenized, then joined by the post-processor's pair template, with its token type ids.
    public func encodePair(_ a: String, _ b: String, addSpecialTokens: Bool = true) -> (ids: [Int], typeIds: [Int]) {
        let (first, second) = (encode(a, addSpecialTokens: false), encode(b, addSpecialTokens: false))
        guard addSpecialTokens, let postProcessor else {
            return (first + second, [Int](repeating: 0, count: first.count) + [Int](repeating: 1, count: second.count))
        }
        return postProcessor.processPair(first, second)
    }

    /// Split by a known regex, map each word's UTF-8 bytes to the byte-level alphabet, run the model:
    /// the same steps as the general path, with one reused word buffer.
    private func encodeByteLevel(_ text: ArraySlice<UInt32>, pattern: KnownSplitPattern, into ids: inout [Int]) {
        var word: [UInt32] = []
        word.reserveCapacity(64)
        let table = alphabet.scalarForByte
        text.withUnsafeBufferPointer { buffer in
            for range in pattern.matches(in: buffer) {
                word.removeAll(keepingCapacity: true)
                for i in range {
                    let value = buffer[i]
                    if value < 0x80 {
                        word.append(table[Int(value)])
                    } else if value < 0x800 {
                        word.append(table[Int(0xC0 | (value >> 6))])
                        word.append(table[Int(0x80 | (value & 0x3F))])
                    } else if value < 0x10000 {
                        word.append(table[Int(0xE0 | (value >> 12))])
                        word.append(table[Int(0x80 | ((value >> 6) & 0x3F))])
                        word.append(table[Int(0x80 | (value & 0x3F))])
                    } else {
                        word.append(table[Int(0xF0 | (value >> 18))])
                        word.append(table[Int(0x80 | ((value >> 12) & 0x3F))])
                        word.append(table[Int(0x80 | ((value >> 6) & 0x3F))])
                        word.append(table[Int(0x80 | (value & 0x3F))])
                    }
                }
                model.tokenize(word, into: &ids)
            }
        }
    }

    // MARK: Decoding

    /// The text of `ids`. Ids outside the vocabulary are skipped, as HF does.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = true) -> String {
        var tokens: [String] = []
        tokens.reserveCapacity(ids.count)
        for id in ids {
            if let added = addedVocabulary.token(id) {
                if skipSpecialTokens && added.isSpecial { continue }
                tokens.append(added.decodedContent)
            } else if let token = model.vocabulary.token(id) {
                if skipSpecialTokens, let sameText = addedVocabulary.id(token), addedVocabulary.token(sameText)?.isSpecial == true {
                    continue
                }
                tokens.append(token)
            }
        }
        var text = decoder?.decode(tokens, alphabet: alphabet) ?? tokens.joined(separator: " ")
        // transformers' clean_up_tokenization_spaces, which it skips for BPE models.
        if config.cleanUpTokenizationSpaces && !model.isBPE { text = TokenDecoder.cleanUp(text, wordPiece: false) }
        return text
    }

    // MARK: Vocabulary

    public func tokenToId(_ token: String) -> Int? {
        addedVocabulary.id(token) ?? model.vocabulary.id(token)
    }

    public func idToToken(_ id: Int) -> String? {
        addedVocabulary.token(id)?.decodedContent ?? model.vocabulary.token(id)
    }

    /// One more than the largest id, added tokens included: every id this tokenizer produces is below it.
    public var vocabSize: Int {
        max(model.vocabulary.tokensById.count, (addedVocabulary.tokens.map(\.id).max() ?? -1) + 1)
    }

    public var bosToken: String? { config.bosToken }
    public var eosToken: String? { config.eosToken }
    public var unkToken: String? { config.unkToken }
    public var padToken: String? { config.padToken }
    public var bosTokenId: Int? { config.bosToken.flatMap(tokenToId) }
    public var eosTokenId: Int? { config.eosToken.flatMap(tokenToId) }
    public var padTokenId: Int? { config.padToken.flatMap(tokenToId) }
    public var chatTemplate: String? { config.chatTemplate }
    /// tokenizer_config.json's model_max_length (transformers' "very large" default when absent).
    public var modelMaxLength: Int { config.modelMaxLength ?? Int.max }

    /// Ids of every special token: added tokens marked special, and the BOS/EOS/UNK/PAD tokens.
    public var allSpecialIds: Set<Int> {
        var ids = Set(addedVocabulary.tokens.filter(\.isSpecial).map(\.id))
        for token in [config.bosToken, config.eosToken, config.unkToken, config.padToken] {
            if let id = token.flatMap(tokenToId) { ids.insert(id) }
        }
        return ids
    }

    /// The added tokens (from tokenizer.json and tokenizer_config.json), in HF's matching order.
    public var addedTokens: [AddedToken] { addedVocabulary.tokens }
}

extension Tokenizer {
    /// Every id's bytes as the token contributes them inside a text — what a grammar matches tokens
    /// against (xgrammar's decoded vocabulary): byte-level tokens mapped back through the byte alphabet,
    /// SentencePiece tokens with "▁" as a space and "<0xXX>" as that byte, others as their UTF-8; added
    /// tokens as their content. Nil for ids the tokenizer does not have.
    public func tokenBytes() -> [[UInt8]?] {
        enum Kind { case byteLevel, byteFallback, raw }
        func kind(of decoder: TokenDecoder?) -> Kind? {
            switch decoder {
            case .byteLevel?: return .byteLevel
            case .byteFallback?, .metaspace?: return .byteFallback
            case .sequence(let steps)?:
                let kinds = steps.compactMap { kind(of: $0) }
                return kinds.contains(.byteLevel) ? .byteLevel : kinds.first
            default: return nil
            }
        }
        let vocabularyKind = kind(of: decoder) ?? .raw
        var result = [[UInt8]?](repeating: nil, count: vocabSize)
        for (id, token) in model.vocabulary.tokensById.enumerated() {
            guard let token else { continue }
            switch vocabularyKind {
            case .byteLevel:
                var bytes: [UInt8] = []
                for scalar in token.unicodeScalars {
                    guard let byte = alphabet.byte(for: scalar.value) else {
                        bytes = Array(token.utf8)
                        break
                    }
                    bytes.append(byte)
                }
                result[id] = bytes
            case .byteFallback:
                let utf8 = Array(token.utf8)
                if utf8.count == 6, token.hasPrefix("<0x"), utf8[5] == UInt8(ascii: ">"),
                    let byte = UInt8(String(decoding: utf8[3..<5], as: UTF8.self), radix: 16)
                {
                    result[id] = [byte]
                } else {
                    var spaced = String.UnicodeScalarView()
                    for scalar in token.unicodeScalars { spaced.append(scalar == "\u{2581}" ? " " : scalar) }
                    result[id] = Array(String(spaced).utf8)
                }
            case .raw:
                result[id] = Array(token.utf8)
            }
        }
        for added in addedVocabulary.tokens where added.id < result.count {
            result[added.id] = Array(added.content.utf8)
        }
        return result
    }
}
