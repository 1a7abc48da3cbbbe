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
            return Self.foundationNormalize(text) { $0.precomposedStringWithCanonicalMapping }
        case .nfd:
            if text.allSatisfy({ $0 < 0xC0 }) { return text }
            return Self.foundationNormalize(text) { $0.decomposedStringWithCanonicalMapping }
        case .nfkc:
            if text.allSatisfy({ $0 < 0xA0 }) { return text }
            return Self.foundationNormalize(text) { $0.precomposedStringWithCompatibilityMapping }
        case .nfkd:
            if text.allSatisfy({ $0 < 0xA0 }) { return text }
            return Self.foundationNormalize(text) { $0.decomposedStringWithCompatibilityMapping }
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

    private static func foundationNormalize(_ text: [UInt32], _ transform: (String) -> String) -> [UInt32] {
        UTF8Scalars.scalars(transform(UTF8Scalars.string(text)))
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
                guard let scalar = Unicode.Scalar(value) else { continue }
                if value == 0 || value == 0xFFFD || scalar.isBertControl { continue }
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
                Unicode.Scalar(value)?.properties.generalCategory != .nonspacingMark
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
