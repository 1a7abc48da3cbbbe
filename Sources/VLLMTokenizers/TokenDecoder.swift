/// A tokenizer.json decoder: turns token strings back into text. Each step maps the list of token strings
/// to a new list (HF's `decode_chain`), and the final list is concatenated.
indirect enum TokenDecoder: Sendable {
    case byteLevel
    case metaspace(replacement: Unicode.Scalar, prependScheme: PrependScheme)
    case byteFallback
    case fuse
    case strip(content: Unicode.Scalar, start: Int, stop: Int)
    case replace(SplitPattern, content: String)
    case wordPiece(prefix: String, cleanup: Bool)
    case bpe(suffix: String)
    case ctc(padToken: String, wordDelimiterToken: String, cleanup: Bool)
    case sequence([TokenDecoder])

    static func from(_ json: JSONValue) throws(TokenizerError) -> TokenDecoder {
        let type = json["type"]?.stringValue ?? "<missing>"
        switch type {
        case "ByteLevel": return .byteLevel
        case "Metaspace":
            guard let replacement = json["replacement"]?.stringValue, replacement.unicodeScalars.count == 1,
                let scalar = replacement.unicodeScalars.first
            else {
                throw .invalidComponent(kind: "decoder", message: "Metaspace needs a one-character \"replacement\"")
            }
            return .metaspace(replacement: scalar, prependScheme: try PreTokenizer.prependScheme(json, kind: "decoder"))
        case "ByteFallback": return .byteFallback
        case "Fuse": return .fuse
        case "Strip":
            guard let content = json["content"]?.stringValue, content.unicodeScalars.count == 1,
                let scalar = content.unicodeScalars.first
            else {
                throw .invalidComponent(kind: "decoder", message: "Strip needs a one-character \"content\"")
            }
            return .strip(content: scalar, start: json["start"]?.intValue ?? 0, stop: json["stop"]?.intValue ?? 0)
        case "Replace":
            guard let content = json["content"]?.stringValue else {
                throw .invalidComponent(kind: "decoder", message: "Replace needs \"content\"")
            }
            return .replace(try SplitPattern.from(json["pattern"], kind: "decoder"), content: content)
        case "WordPiece":
            return .wordPiece(prefix: json["prefix"]?.stringValue ?? "##", cleanup: json["cleanup"]?.boolValue ?? true)
        case "BPEDecoder": return .bpe(suffix: json["suffix"]?.stringValue ?? "</w>")
        case "CTC":
            return .ctc(
                padToken: json["pad_token"]?.stringValue ?? "<pad>",
                wordDelimiterToken: json["word_delimiter_token"]?.stringValue ?? "|",
                cleanup: json["cleanup"]?.boolValue ?? true)
        case "Sequence":
            guard let items = json["decoders"]?.arrayValue else {
                throw .invalidComponent(kind: "decoder", message: "Sequence needs \"decoders\"")
            }
            var decoders: [TokenDecoder] = []
            for item in items { decoders.append(try from(item)) }
            return .sequence(decoders)
        default:
            throw .unsupportedComponent(kind: "decoder", type: type)
        }
    }

    func decode(_ tokens: [String], alphabet: ByteLevelAlphabet) -> String {
        decodeChain(tokens, alphabet: alphabet).joined()
    }

    func decodeChain(_ tokens: [String], alphabet: ByteLevelAlphabet) -> [String] {
        switch self {
        case .byteLevel:
            // Every token's scalars map back to bytes; a token with a scalar outside the alphabet (an added
            // token such as "<|im_start|>") contributes its own UTF-8. Invalid UTF-8 becomes U+FFFD.
            var bytes: [UInt8] = []
            for token in tokens {
                let start = bytes.count
                var valid = true
                for scalar in token.unicodeScalars {
                    guard let byte = alphabet.byte(for: scalar.value) else {
                        valid = false
                        break
                    }
                    bytes.append(byte)
                }
                if !valid {
                    bytes.removeSubrange(start...)
                    bytes.append(contentsOf: token.utf8)
                }
            }
            return [String(decoding: bytes, as: UTF8.self)]
        case .metaspace(let replacement, let prependScheme):
            return tokens.enumerated().map { index, token in
                var result = String.UnicodeScalarView()
                for scalar in token.unicodeScalars {
                    if scalar == replacement {
                        if index == 0 && prependScheme != .never { continue }
                        result.append(" ")
                    } else {
                        result.append(scalar)
                    }
                }
                return String(result)
            }
        case .byteFallback:
            var result: [String] = []
            var pending: [UInt8] = []
            func flush() {
                guard !pending.isEmpty else { return }
                if let text = String(validating: pending, as: UTF8.self) {
                    result.append(text)
                } else {
                    result.append(contentsOf: repeatElement("\u{FFFD}", count: pending.count))
                }
                pending.removeAll()
            }
            for token in tokens {
                let utf8 = Array(token.utf8)
                if utf8.count == 6, token.hasPrefix("<0x"), utf8[5] == UInt8(ascii: ">"),
                    let byte = UInt8(String(decoding: utf8[3..<5], as: UTF8.self), radix: 16)
                {
                    pending.append(byte)
                } else {
                    flush()
                    result.append(token)
                }
            }
            flush()
            return result
        case .fuse:
            return [tokens.joined()]
        case .strip(let content, let start, let stop):
            return tokens.map { token in
                let characters = Array(token.unicodeScalars)
                let target = content
                var low = 0
                while low < min(start, characters.count), characters[low] == target { low += 1 }
                var high = characters.count
                var removed = 0
                while removed < stop, high > low, characters[high - 1] == target {
                    high -= 1
                    removed += 1
                }
                var view = String.UnicodeScalarView()
                view.append(contentsOf: characters[low..<high])
                return String(view)
            }
        case .replace(let pattern, let content):
            let replacement = UTF8Scalars.scalars(content)
            return tokens.map { token in
                UTF8Scalars.string(Normalizer.replace(pattern, content: replacement).normalize(UTF8Scalars.scalars(token)))
            }
        case .wordPiece(let prefix, let cleanup):
            return tokens.enumerated().map { index, token in
                var text = token
                if index != 0 {
                    if text.utf8.starts(with: prefix.utf8) {
                        text = String(decoding: text.utf8.dropFirst(prefix.utf8.count), as: UTF8.self)
                    } else {
                        text = " " + text
                    }
                }
                return cleanup ? Self.cleanUp(text, wordPiece: true) : text
            }
        case .bpe(let suffix):
            return tokens.enumerated().map { index, token in
                token.replacingAll(suffix, with: index == tokens.count - 1 ? "" : " ")
            }
        case .ctc(let padToken, let wordDelimiterToken, let cleanup):
            var deduplicated: [String] = []
            for token in tokens where deduplicated.last.map({ !$0.utf8.elementsEqual(token.utf8) }) ?? true {
                deduplicated.append(token)
            }
            return deduplicated.compactMap { token in
                var text = token.replacingAll(padToken, with: "")
                if cleanup {
                    text = Self.cleanUp(text, wordPiece: true).replacingAll(wordDelimiterToken, with: " ")
                }
                return text.isEmpty ? nil : text
            }
        case .sequence(let decoders):
            var current = tokens
            for decoder in decoders { current = decoder.decodeChain(current, alphabet: alphabet) }
            return current
        }
    }

    /// The cleanup of WordPiece/CTC decoders; `transformers`' clean_up_tokenization is the same list without
    /// " do not" → " don't".
    static func cleanUp(_ text: String, wordPiece: Bool) -> String {
        var result = text
        var rules: [(String, String)] = [
            (" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
        ]
        if wordPiece { rules.append((" do not", " don't")) }
        rules += [(" 's", "'s"), (" 've", "'ve"), (" 're", "'re")]
        for (from, to) in rules { result = result.replacingAll(from, with: to) }
        return result
    }
}

extension String {
    /// Replaces every non-overlapping occurrence, left to right, comparing UTF-8 exactly.
    func replacingAll(_ target: String, with replacement: String) -> String {
        let needle = Array(target.utf8)
        guard !needle.isEmpty else { return self }
        let haystack = Array(utf8)
        guard haystack.count >= needle.count else { return self }
        var result: [UInt8] = []
        result.reserveCapacity(haystack.count)
        var i = 0
        var changed = false
        while i < haystack.count {
            if i + needle.count <= haystack.count, haystack[i] == needle[0],
                haystack[i..<(i + needle.count)].elementsEqual(needle)
            {
                result.append(contentsOf: replacement.utf8)
                i += needle.count
                changed = true
            } else {
                result.append(haystack[i])
                i += 1
            }
        }
        return changed ? String(decoding: result, as: UTF8.self) : self
    }
}
