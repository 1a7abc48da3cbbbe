/// What separates pieces: HF's `Pattern` (a literal string, a regex, or a per-character predicate).
enum SplitPattern: Sendable {
    case literal([UInt32])
    case regex(PatternRegex)
    /// One of the regexes real models ship, matched by hand-written code with the same semantics.
    case known(KnownSplitPattern)
    case scalar(UInt32)
    case whitespaceCharacter
    case bertPunctuation
    case numericCharacter

    static func from(_ json: JSONValue?, kind: String) throws(TokenizerError) -> SplitPattern {
        if let literal = json?["String"]?.stringValue { return .literal(UTF8Scalars.scalars(literal)) }
        if let source = json?["Regex"]?.stringValue {
            if let known = KnownSplitPattern(pattern: source) { return .known(known) }
            return .regex(try PatternRegex(source))
        }
        throw .invalidComponent(kind: kind, message: "pattern must be {\"String\": ...} or {\"Regex\": ...}")
    }

    /// The matches in `text`, each as a scalar range, left to right.
    func matchRanges(_ text: UnsafeBufferPointer<UInt32>) -> [Range<Int>] {
        switch self {
        case .literal(let needle):
            guard !needle.isEmpty, needle.count <= text.count else { return [] }
            var result: [Range<Int>] = []
            var i = 0
            while i + needle.count <= text.count {
                var equal = true
                for j in 0..<needle.count where text[i + j] != needle[j] {
                    equal = false
                    break
                }
                if equal {
                    result.append(i..<(i + needle.count))
                    i += needle.count
                } else {
                    i += 1
                }
            }
            return result
        case .regex(let regex): return regex.matches(in: text)
        case .known(let known): return known.matches(in: text)
        case .scalar(let value): return text.indices.filter { text[$0] == value }.map { $0..<($0 + 1) }
        case .whitespaceCharacter: return predicateMatches(text) { $0.isSpace }
        case .bertPunctuation: return predicateMatches(text) { $0.isBertPunctuation }
        case .numericCharacter: return predicateMatches(text) { $0.isNumber }
        }
    }

    private func predicateMatches(_ text: UnsafeBufferPointer<UInt32>, _ predicate: (Unicode.Scalar) -> Bool) -> [Range<Int>] {
        var result: [Range<Int>] = []
        for i in text.indices {
            if let scalar = Unicode.Scalar(text[i]), predicate(scalar) { result.append(i..<(i + 1)) }
        }
        return result
    }

    /// HF's `find_matches`: the whole text as alternating (range, isMatch) parts.
    func parts(_ text: UnsafeBufferPointer<UInt32>, invert: Bool) -> [(range: Range<Int>, isMatch: Bool)] {
        if text.isEmpty { return [(0..<0, false)] }
        var parts: [(range: Range<Int>, isMatch: Bool)] = []
        var previous = 0
        for match in matchRanges(text) {
            if previous != match.lowerBound { parts.append((previous..<match.lowerBound, invert)) }
            parts.append((match, !invert))
            previous = match.upperBound
        }
        if previous != text.count { parts.append((previous..<text.count, invert)) }
        return parts
    }
}

/// How a split treats the delimiters it finds (HF's `SplitDelimiterBehavior`).
enum SplitBehavior: Sendable {
    case removed, isolated, mergedWithPrevious, mergedWithNext, contiguous

    init(name: String?, kind: String) throws(TokenizerError) {
        switch name {
        case "Removed": self = .removed
        case "Isolated": self = .isolated
        case "MergedWithPrevious": self = .mergedWithPrevious
        case "MergedWithNext": self = .mergedWithNext
        case "Contiguous": self = .contiguous
        default: throw .invalidComponent(kind: kind, message: "unknown split behavior \(name ?? "null")")
        }
    }

    /// The ranges of the pieces to keep, empty ones included (callers drop them).
    func apply(_ parts: [(range: Range<Int>, isMatch: Bool)]) -> [Range<Int>] {
        switch self {
        case .isolated:
            return parts.map(\.range)
        case .removed:
            return parts.filter { !$0.isMatch }.map(\.range)
        case .contiguous:
            var result: [Range<Int>] = []
            var previousMatch = false
            for part in parts {
                if part.isMatch == previousMatch, let last = result.last {
                    result[result.count - 1] = last.lowerBound..<part.range.upperBound
                } else {
                    result.append(part.range)
                }
                previousMatch = part.isMatch
            }
            return result
        case .mergedWithPrevious:
            var result: [Range<Int>] = []
            var previousMatch = false
            for part in parts {
                if part.isMatch && !previousMatch, let last = result.last {
                    result[result.count - 1] = last.lowerBound..<part.range.upperBound
                } else {
                    result.append(part.range)
                }
                previousMatch = part.isMatch
            }
            return result
        case .mergedWithNext:
            var result: [Range<Int>] = []
            var previousMatch = false
            for part in parts.reversed() {
                if part.isMatch && !previousMatch, let last = result.last {
                    result[result.count - 1] = part.range.lowerBound..<last.upperBound
                } else {
                    result.append(part.range)
                }
                previousMatch = part.isMatch
            }
            return result.reversed()
        }
    }
}
