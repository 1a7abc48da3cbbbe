/// A piece of text between pre-tokenization boundaries.
struct TextPiece: Sendable {
    var scalars: [UInt32]
    /// Whether the piece begins at the start of the original input (Metaspace's `prepend_scheme: first`).
    var isAtStart: Bool
}

/// How Metaspace adds its replacement character in front of a piece.
enum PrependScheme: Sendable {
    case always, never, first
}

/// A tokenizer.json pre-tokenizer.
indirect enum PreTokenizer: Sendable {
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    case split(SplitPattern, behavior: SplitBehavior, invert: Bool)
    case metaspace(replacement: UInt32, prependScheme: PrependScheme, split: Bool)
    case whitespace
    case whitespaceSplit
    case bert
    case digits(individual: Bool)
    case punctuation(SplitBehavior)
    case charDelimiter(UInt32)
    case sequence([PreTokenizer])

    static func from(_ json: JSONValue) throws(TokenizerError) -> PreTokenizer {
        let type = json["type"]?.stringValue ?? "<missing>"
        switch type {
        case "ByteLevel":
            return .byteLevel(
                addPrefixSpace: json["add_prefix_space"]?.boolValue ?? true, useRegex: json["use_regex"]?.boolValue ?? true)
        case "Split":
            return .split(
                try SplitPattern.from(json["pattern"], kind: "pre-tokenizer"),
                behavior: try SplitBehavior(name: json["behavior"]?.stringValue, kind: "pre-tokenizer"),
                invert: json["invert"]?.boolValue ?? false)
        case "Metaspace":
            let replacement = json["replacement"]?.stringValue.flatMap { $0.unicodeScalars.count == 1 ? $0.unicodeScalars.first : nil }
            guard let replacement else {
                throw .invalidComponent(kind: "pre-tokenizer", message: "Metaspace needs a one-character \"replacement\"")
            }
            return .metaspace(
                replacement: replacement.value, prependScheme: try prependScheme(json, kind: "pre-tokenizer"),
                split: json["split"]?.boolValue ?? true)
        case "Whitespace": return .whitespace
        case "WhitespaceSplit": return .whitespaceSplit
        case "BertPreTokenizer": return .bert
        case "Digits": return .digits(individual: json["individual_digits"]?.boolValue ?? false)
        case "Punctuation":
            return .punctuation(try SplitBehavior(name: json["behavior"]?.stringValue ?? "Isolated", kind: "pre-tokenizer"))
        case "CharDelimiterSplit":
            guard let delimiter = json["delimiter"]?.stringValue?.unicodeScalars.first else {
                throw .invalidComponent(kind: "pre-tokenizer", message: "CharDelimiterSplit needs \"delimiter\"")
            }
            return .charDelimiter(delimiter.value)
        case "Sequence":
            guard let items = json["pretokenizers"]?.arrayValue else {
                throw .invalidComponent(kind: "pre-tokenizer", message: "Sequence needs \"pretokenizers\"")
            }
            var result: [PreTokenizer] = []
            for item in items { result.append(try from(item)) }
            return .sequence(result)
        default:
            throw .unsupportedComponent(kind: "pre-tokenizer", type: type)
        }
    }

    /// Metaspace's `prepend_scheme`, or the older `add_prefix_space` flag it replaced.
    static func prependScheme(_ json: JSONValue, kind: String) throws(TokenizerError) -> PrependScheme {
        switch json["prepend_scheme"]?.stringValue {
        case "always": return .always
        case "never": return .never
        case "first": return .first
        case nil: return (json["add_prefix_space"]?.boolValue ?? true) ? .always : .never
        case let other?: throw .invalidComponent(kind: kind, message: "unknown prepend_scheme \(other)")
        }
    }

    /// Splits every piece further; empty pieces are dropped, as HF does.
    func preTokenize(_ pieces: [TextPiece], alphabet: ByteLevelAlphabet) -> [TextPiece] {
        switch self {
        case .sequence(let steps):
            var current = pieces
            for step in steps { current = step.preTokenize(current, alphabet: alphabet) }
            return current
        default:
            var result: [TextPiece] = []
            result.reserveCapacity(pieces.count * 4)
            for piece in pieces { splitPiece(piece, alphabet: alphabet, into: &result) }
            return result
        }
    }

    private func splitPiece(_ piece: TextPiece, alphabet: ByteLevelAlphabet, into result: inout [TextPiece]) {
        switch self {
        case .byteLevel(let addPrefixSpace, let useRegex):
            var text = piece.scalars
            if addPrefixSpace, text.first != 0x20 { text.insert(0x20, at: 0) }
            let ranges = useRegex ? Self.splitRanges(text, .known(.gpt2), .isolated) : [0..<text.count]
            for range in ranges where !range.isEmpty {
                var mapped: [UInt32] = []
                mapped.reserveCapacity(range.count + 4)
                var utf8: [UInt8] = []
                for value in text[range] {
                    if value < 128 {
                        mapped.append(alphabet.scalarForByte[Int(value)])
                        continue
                    }
                    utf8.removeAll(keepingCapacity: true)
                    UTF8Scalars.append(value, to: &utf8)
                    for byte in utf8 { mapped.append(alphabet.scalarForByte[Int(byte)]) }
                }
                result.append(TextPiece(scalars: mapped, isAtStart: piece.isAtStart && range.lowerBound == 0))
            }
        case .split(let pattern, let behavior, let invert):
            Self.emit(piece, Self.splitRanges(piece.scalars, pattern, behavior, invert: invert), into: &result)
        case .metaspace(let replacement, let prependScheme, let split):
            var text = piece.scalars.map { $0 == 0x20 ? replacement : $0 }
            let prepend: Bool
            switch prependScheme {
            case .always: prepend = true
            case .never: prepend = false
            case .first: prepend = piece.isAtStart
            }
            if prepend, text.first != replacement { text.insert(replacement, at: 0) }
            let replaced = TextPiece(scalars: text, isAtStart: piece.isAtStart)
            if split {
                Self.emit(replaced, Self.splitRanges(text, .scalar(replacement), .mergedWithNext), into: &result)
            } else if !text.isEmpty {
                result.append(replaced)
            }
        case .whitespace:
            // \w+|[^\w\s]+ ; whatever neither matches (whitespace) is dropped.
            var ranges: [Range<Int>] = []
            let text = piece.scalars
            var i = 0
            while i < text.count {
                let scalar = Unicode.Scalar(text[i])
                let isWord = scalar?.isWordCharacter ?? false
                let isSpace = scalar?.isSpace ?? false
                if !isWord && isSpace {
                    i += 1
                    continue
                }
                var j = i + 1
                while j < text.count {
                    let next = Unicode.Scalar(text[j])
                    let nextWord = next?.isWordCharacter ?? false
                    if isWord ? !nextWord : (nextWord || (next?.isSpace ?? false)) { break }
                    j += 1
                }
                ranges.append(i..<j)
                i = j
            }
            Self.emit(piece, ranges, into: &result)
        case .whitespaceSplit:
            Self.emit(piece, Self.splitRanges(piece.scalars, .whitespaceCharacter, .removed), into: &result)
        case .bert:
            let words = Self.splitRanges(piece.scalars, .whitespaceCharacter, .removed)
            for word in words where !word.isEmpty {
                let sub = TextPiece(scalars: Array(piece.scalars[word]), isAtStart: piece.isAtStart && word.lowerBound == 0)
                Self.emit(sub, Self.splitRanges(sub.scalars, .bertPunctuation, .isolated), into: &result)
            }
        case .digits(let individual):
            Self.emit(
                piece, Self.splitRanges(piece.scalars, .numericCharacter, individual ? .isolated : .contiguous), into: &result)
        case .punctuation(let behavior):
            Self.emit(piece, Self.splitRanges(piece.scalars, .bertPunctuation, behavior), into: &result)
        case .charDelimiter(let delimiter):
            Self.emit(piece, Self.splitRanges(piece.scalars, .scalar(delimiter), .removed), into: &result)
        case .sequence(let steps):
            var current = [piece]
            for step in steps { current = step.preTokenize(current, alphabet: alphabet) }
            result.append(contentsOf: current)
        }
    }

    static func splitRanges(_ text: [UInt32], _ pattern: SplitPattern, _ behavior: SplitBehavior, invert: Bool = false)
        -> [Range<Int>]
    {
        text.withUnsafeBufferPointer { buffer in
            if case .known(let known) = pattern, !invert, behavior == .isolated {
                return known.matches(in: buffer)
            }
            return behavior.apply(pattern.parts(buffer, invert: invert))
        }
    }

    private static func emit(_ piece: TextPiece, _ ranges: [Range<Int>], into result: inout [TextPiece]) {
        for range in ranges where !range.isEmpty {
            result.append(TextPiece(scalars: Array(piece.scalars[range]), isAtStart: piece.isAtStart && range.lowerBound == 0))
        }
    }
}
