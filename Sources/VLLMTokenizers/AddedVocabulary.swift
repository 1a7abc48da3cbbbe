/// A token added on top of the model's vocabulary (special tokens such as "<|im_start|>", or user tokens).
public struct AddedToken: Sendable, Equatable {
    public let id: Int
    public let content: String
    public let isSingleWord: Bool
    public let stripsLeft: Bool
    public let stripsRight: Bool
    public let isNormalized: Bool
    public let isSpecial: Bool
    /// The text HF gives back for this token: for a normalized token, its content after the tokenizer's
    /// normalizer (HF stores normalized tokens that way), otherwise its content.
    public internal(set) var decodedContent: String

    init(json: JSONValue, id: Int) throws(TokenizerError) {
        guard let content = json["content"]?.stringValue, !content.isEmpty else {
            throw .invalidComponent(kind: "added token", message: "token \(id) has no \"content\"")
        }
        self.id = id
        self.content = content
        isSingleWord = json["single_word"]?.boolValue ?? false
        stripsLeft = json["lstrip"]?.boolValue ?? false
        stripsRight = json["rstrip"]?.boolValue ?? false
        isSpecial = json["special"]?.boolValue ?? false
        isNormalized = json["normalized"]?.boolValue ?? !isSpecial
        decodedContent = content
    }
}

/// Finds added tokens in text as HF's AddedVocabulary does: leftmost-longest matches, then the single_word,
/// lstrip and rstrip rules.
struct AddedVocabulary: Sendable {
    let tokens: [AddedToken]
    private let idsByContent: [TokenBytes: Int]
    private let tokensById: [Int: AddedToken]
    private let rawMatcher: TokenMatcher
    private let normalizedMatcher: TokenMatcher

    init(tokens: [AddedToken], normalizer: Normalizer?) {
        var unique: [AddedToken] = []
        var seen = Set<TokenBytes>()
        for var token in tokens where seen.insert(TokenBytes(token.content)).inserted {
            if token.isNormalized, let normalizer {
                token.decodedContent = UTF8Scalars.string(normalizer.normalize(UTF8Scalars.scalars(token.content)))
            }
            unique.append(token)
        }
        // HF matches special tokens first in pattern order, then the others.
        let ordered = unique.filter(\.isSpecial) + unique.filter { !$0.isSpecial }
        self.tokens = ordered
        var byContent: [TokenBytes: Int] = [:]
        var byId: [Int: AddedToken] = [:]
        for token in ordered {
            byContent[TokenBytes(token.decodedContent)] = token.id
            byContent[TokenBytes(token.content)] = token.id
            byId[token.id] = token
        }
        idsByContent = byContent
        tokensById = byId
        rawMatcher = TokenMatcher(ordered.filter { !$0.isNormalized }.map { ($0, UTF8Scalars.scalars($0.content)) })
        normalizedMatcher = TokenMatcher(
            ordered.filter(\.isNormalized).map { token in
                let scalars = UTF8Scalars.scalars(token.content)
                return (token, normalizer?.normalize(scalars) ?? scalars)
            })
    }

    func id(_ content: String) -> Int? { idsByContent[TokenBytes(content)] }
    func token(_ id: Int) -> AddedToken? { tokensById[id] }
    var isEmpty: Bool { tokens.isEmpty }

    /// Splits text into stretches and added tokens; stretches may be empty (callers drop them).
    func split(_ text: [UInt32], normalized: Bool) -> [(range: Range<Int>, tokenId: Int?)] {
        let matcher = normalized ? normalizedMatcher : rawMatcher
        if matcher.isEmpty || text.isEmpty { return [(0..<text.count, nil)] }
        var result: [(range: Range<Int>, tokenId: Int?)] = []
        var startOffset = 0
        var searchFrom = 0
        while let (match, token) = matcher.nextMatch(in: text, from: searchFrom) {
            searchFrom = match.upperBound
            var start = match.lowerBound
            var stop = match.upperBound
            if token.isSingleWord {
                let wordBefore = start > 0 && Unicode.Scalar(text[start - 1])?.isWordCharacter == true
                let wordAfter = stop < text.count && Unicode.Scalar(text[stop])?.isWordCharacter == true
                if wordBefore || wordAfter { continue }
            }
            if token.stripsLeft {
                var newStart = start
                while newStart > 0, Unicode.Scalar(text[newStart - 1])?.isSpace == true { newStart -= 1 }
                start = max(newStart, startOffset)
            }
            if token.stripsRight {
                while stop < text.count, Unicode.Scalar(text[stop])?.isSpace == true { stop += 1 }
            }
            if startOffset < start { result.append((startOffset..<start, nil)) }
            result.append((start..<stop, token.id))
            startOffset = stop
        }
        if startOffset != text.count { result.append((startOffset..<text.count, nil)) }
        return result
    }
}

/// Leftmost-longest matching of a set of scalar strings, indexed by first scalar.
private struct TokenMatcher: Sendable {
    private var candidatesByFirst: [UInt32: [(AddedToken, [UInt32])]] = [:]
    private var hasFirstASCII = [Bool](repeating: false, count: 128)

    init(_ patterns: [(AddedToken, [UInt32])]) {
        for pattern in patterns where !pattern.1.isEmpty {
            candidatesByFirst[pattern.1[0], default: []].append(pattern)
        }
        for key in candidatesByFirst.keys {
            // Longest first; equal lengths keep pattern order (stable sort).
            candidatesByFirst[key] = candidatesByFirst[key]!.enumerated()
                .sorted { $0.element.1.count != $1.element.1.count ? $0.element.1.count > $1.element.1.count : $0.offset < $1.offset }
                .map(\.element)
            if key < 128 { hasFirstASCII[Int(key)] = true }
        }
    }

    var isEmpty: Bool { candidatesByFirst.isEmpty }

    func nextMatch(in text: [UInt32], from start: Int) -> (Range<Int>, AddedToken)? {
        var i = start
        while i < text.count {
            let c = text[i]
            if c < 128 && !hasFirstASCII[Int(c)] {
                i += 1
                continue
            }
            if let candidates = candidatesByFirst[c] {
                for (token, pattern) in candidates where i + pattern.count <= text.count {
                    if text[i..<(i + pattern.count)].elementsEqual(pattern) { return (i..<(i + pattern.count), token) }
                }
            }
            i += 1
        }
        return nil
    }
}
