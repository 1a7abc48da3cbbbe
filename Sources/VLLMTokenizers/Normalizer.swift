import Foundation

/// A tokenizer.json normalizer. Offsets are not tracked: only ids are needed.
indirect enum Normalizer: Sendable {
    case nfc, nfd, nfkc, nfkd
    case lowercase
    case stripAccents
    case strip(left: Bool, right: Bool)
    case prepend([UInt32])
    case replace(SplitPattern, content: [UInt32])
    case bert(cleanText: Bool, handleChineseChars: Bool, stripAccents: Bool, lowercase: Bool)
    case nmt
    case sequence([Normalizer])

    static func from(_ json: JSONValue) throws(TokenizerError) -> Normalizer {
        let type = json["type"]?.stringValue ?? "<missing>"
        switch type {
        case "NFC": return .nfc
        case "NFD": return .nfd
        case "NFKC": return .nfkc
        case "NFKD": return .nfkd
        case "Lowercase": return .lowercase
        case "StripAccents": return .stripAccents
        case "Strip":
            return .strip(left: json["strip_left"]?.boolValue ?? true, right: json["strip_right"]?.boolValue ?? true)
        case "Prepend":
            guard let prepend = json["prepend"]?.stringValue else {
                throw .invalidComponent(kind: "normalizer", message: "Prepend needs \"prepend\"")
            }
            return .prepend(UTF8Scalars.scalars(prepend))
        case "Replace":
            guard let content = json["content"]?.stringValue else {
                throw .invalidComponent(kind: "normalizer", message: "Replace needs \"content\"")
            }
            return .replace(try SplitPattern.from(json["pattern"], kind: "normalizer"), content: UTF8Scalars.scalars(content))
        case "BertNormalizer":
            let lowercase = json["lowercase"]?.boolValue ?? true
            return .bert(
                cleanText: json["clean_text"]?.boolValue ?? true,
                handleChineseChars: json["handle_chinese_chars"]?.boolValue ?? true,
                stripAccents: json["strip_accents"]?.boolValue ?? lowercase,
                lowercase: lowercase)
        case "Nmt": return .nmt
        case "Sequence":
            guard let items = json["normalizers"]?.arrayValue else {
                throw .invalidComponent(kind: "normalizer", message: "Sequence needs \"normalizers\"")
            }
            var normalizers: [Normalizer] = []
            for item in items { normalizers.append(try from(item)) }
            return .sequence(normalizers)
        default:
            throw .unsupportedComponent(kind: "normalizer", type: type)
        }
    }

    func normalize(_ text: [UInt32]) -> [UInt32] {
        switch self {
        case .nfc:
            // Below U+0300 every scalar is its own NFC form and nothing composes with it.
            if text.allSatisfy({ $0 < 0x300 }) { return text }
            return Self.unicodeNormalize(text, composing: true) { $0.precomposedStringWithCanonicalMapping }
        case .nfd:
            if text.allSatisfy({ $0 < 0xC0 }) { return text }
            return Self.unicodeNormalize(text, composing: false) { $0.decomposedStringWithCanonicalMapping }
        case .nfkc:
            if text.allSatisfy({ $0 < 0xA0 }) { return text }
            return Self.unicodeNormalize(text, composing: true) { $0.precomposedStringWithCompatibilityMapping }
        case .nfkd:
            if text.allSatisfy({ $0 < 0xA0 }) { return text }
            return Self.unicodeNormalize(text, composing: false) { $0.decomposedStringWithCompatibilityMapping }
        case .lowercase:
            return Self.lowercased(text)
        case .stripAccents:
            return text.filter { value in Unicode.Scalar(value).map { !$0.isMark } ?? true }
        case .strip(let left, let right):
            var start = 0
            var end = text.count
            if left { while start < end, Unicode.Scalar(text[start])?.isSpace == true { start += 1 } }
            if right { while end > start, Unicode.Scalar(text[end - 1])?.isSpace == true { end -= 1 } }
            return Array(text[start..<end])
        case .prepend(let prefix):
            return text.isEmpty ? text : prefix + text
        case .replace(let pattern, let content):
            return text.withUnsafeBufferPointer { buffer in
                var result: [UInt32] = []
                result.reserveCapacity(text.count)
                var previous = 0
                for match in pattern.matchRanges(buffer) {
                    result.append(contentsOf: buffer[previous..<match.lowerBound])
                    result.append(contentsOf: content)
                    previous = match.upperBound
                }
                result.append(contentsOf: buffer[previous..<buffer.count])
                return result
            }
        case .bert(let cleanText, let handleChineseChars, let stripAccents, let lowercase):
            return Self.bertNormalize(
                text, cleanText: cleanText, handleChineseChars: handleChineseChars, stripAccents: stripAccents,
                lowercase: lowercase)
        case .nmt:
            return Self.nmt(text)
        case .sequence(let normalizers):
            var current = text
            for normalizer in normalizers { current = normalizer.normalize(current) }
            return current
        }
    }

    /// Unicode normalization through Foundation, one stretch of non-ASCII text at a time: ASCII scalars
    /// neither decompose nor reorder, and none composes with what precedes it, so normalizing each stretch
    /// (with the scalar before it, when composing) equals normalizing the whole text. Foundation's cost
    /// grows faster than linearly with the length it is given; long stretches are cut before a kana, CJK
    /// ideograph or Hangul syllable, which never combine with what precedes them.
    private static func unicodeNormalize(_ text: [UInt32], composing: Bool, _ transform: (String) -> String) -> [UInt32] {
        var result: [UInt32] = []
        result.reserveCapacity(text.count + text.count / 8)
        var i = 0
        while i < text.count {
            if text[i] < 0x80 {
                result.append(text[i])
                i += 1
                continue
            }
            var start = i
            if composing, i > 0, text[i - 1] < 0x80 {
                start = i - 1
                result.removeLast()
            }
            var end = i + 1
            while end < text.count, text[end] >= 0x80 {
                if end - start >= 64, isIndependentStarter(text[end]) { break }
                end += 1
            }
            result.append(contentsOf: UTF8Scalars.scalars(transform(UTF8Scalars.string(text[start..<end]))))
            i = end
        }
        return result
    }

    private static func isIndependentStarter(_ value: UInt32) -> Bool {
        switch value {
        case 0x3041...0x3096, 0x30A1...0x30FA, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xAC00...0xD7A3: return true
        default: return false
        }
    }

    /// Rust's `char::to_lowercase` per scalar: full mappings, no context (no final sigma).
    static func lowercased(_ text: [UInt32]) -> [UInt32] {
        var result: [UInt32] = []
        result.reserveCapacity(text.count)
        for value in text {
            if value < 128 {
                result.append(value >= 65 && value <= 90 ? value + 32 : value)
            } else if let scalar = Unicode.Scalar(value) {
                let props = scalar.properties
                if props.changesWhenLowercased {
                    result.append(contentsOf: props.lowercaseMapping.unicodeScalars.map(\.value))
                } else {
                    result.append(value)
                }
            }
        }
        return result
    }

    private static func bertNormalize(
        _ input: [UInt32], cleanText: Bool, handleChineseChars: Bool, stripAccents: Bool, lowercase: Bool
    ) -> [UInt32] {
        var text = input
        if cleanText {
            var cleaned: [UInt32] = []
            cleaned.reserveCapacity(text.count)
            for value in text {
                if value < 0x80 {
                    // ASCII: tab, newline, carriage return become spaces; other controls go.
                    if value == 0x09 || value == 0x0A || value == 0x0D || value == 0x20 {
                        cleaned.append(0x20)
                    } else if value >= 0x21 && value != 0x7F {
                        cleaned.append(value)
                    }
                    continue
                }
                guard let scalar = Unicode.Scalar(value) else { continue }
                if value == 0xFFFD || scalar.isBertControl { continue }
                cleaned.append(scalar.isSpace ? 0x20 : value)
            }
            text = cleaned
        }
        if handleChineseChars {
            var spaced: [UInt32] = []
            spaced.reserveCapacity(text.count)
            for value in text {
                if let scalar = Unicode.Scalar(value), scalar.isChineseCharacter {
                    spaced.append(0x20)
                    spaced.append(value)
                    spaced.append(0x20)
                } else {
                    spaced.append(value)
                }
            }
            text = spaced
        }
        if stripAccents {
            text = Normalizer.nfd.normalize(text).filter { value in
                value < 0x300 || Unicode.Scalar(value)?.properties.generalCategory != .nonspacingMark
            }
        }
        if lowercase { text = lowercased(text) }
        return text
    }

    /// The Nmt normalizer (SentencePiece's nmt_nfkc whitespace and control handling, without the NFKC).
    private static func nmt(_ text: [UInt32]) -> [UInt32] {
        var result: [UInt32] = []
        result.reserveCapacity(text.count)
        for value in text {
            switch value {
            case 0x0001...0x0008, 0x000B, 0x000E...0x001F, 0x007F, 0x008F, 0x009F: continue
            case 0x0009, 0x000A, 0x000C, 0x000D, 0x1680, 0x200B...0x200F, 0x2028, 0x2029, 0x2581, 0xFEFF, 0xFFFD:
                result.append(0x20)
            default:
                result.append(value)
            }
        }
        return result
    }
}
