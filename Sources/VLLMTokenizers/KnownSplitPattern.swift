// Hand-written matchers for the pre-tokenization regexes that real models ship. Each has exactly the
// leftmost-first semantics of its pattern (tests compare them with the general `PatternRegex` engine and
// with HF goldens); they exist because these patterns run over every prompt.

/// A pre-tokenization regex recognized by its exact source text.
enum KnownSplitPattern: Sendable {
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+` (GPT-2, and
    /// the ByteLevel pre-tokenizer's own regex).
    case gpt2
    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,N}| ?[^\s\p{L}\p{N}]+[\r\n]*|
    /// \s*[\r\n]+|\s+(?!\S)|\s+` with N = 3 (Llama-3) or a single \p{N} (Qwen2/2.5/3).
    case llama3(maxDigits: Int)

    static let gpt2Source = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    static let llama3Source =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let qwenSource =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    init?(pattern: String) {
        switch pattern {
        case Self.gpt2Source: self = .gpt2
        case Self.llama3Source: self = .llama3(maxDigits: 3)
        case Self.qwenSource: self = .llama3(maxDigits: 1)
        default: return nil
        }
    }

    /// Character kinds these patterns distinguish.
    private enum Kind {
        case letter, number, space, other
    }

    @inline(__always) private static func kind(_ value: UInt32) -> Kind {
        guard let scalar = Unicode.Scalar(value) else { return .other }
        if scalar.isLetter { return .letter }
        if scalar.isNumber { return .number }
        if scalar.isSpace { return .space }
        return .other
    }

    /// The matches, which for these patterns tile the whole text.
    func matches(in text: UnsafeBufferPointer<UInt32>) -> [Range<Int>] {
        var result: [Range<Int>] = []
        result.reserveCapacity(text.count / 4 + 1)
        var position = 0
        while position < text.count {
            let end: Int
            switch self {
            case .gpt2: end = Self.matchGPT2(text, position)
            case .llama3(let maxDigits): end = Self.matchLlama3(text, position, maxDigits: maxDigits)
            }
            result.append(position..<end)
            position = end
        }
        return result
    }

    /// The length of a contraction ('s, 't, 're, 've, 'm, 'll, 'd) at `p`, or 0.
    @inline(__always) private static func contraction(_ text: UnsafeBufferPointer<UInt32>, _ p: Int, caseInsensitive: Bool) -> Int {
        guard text[p] == 0x27, p + 1 < text.count else { return 0 }
        func folded(_ i: Int) -> UInt32 {
            guard i < text.count else { return 0 }
            let c = text[i]
            guard caseInsensitive else { return c }
            if c >= 65 && c <= 90 { return c + 32 }
            if c == 0x17F { return 0x73 }  // LATIN SMALL LETTER LONG S folds to s
            return c
        }
        switch folded(p + 1) {
        case 0x73, 0x74, 0x6D, 0x64: return 2  // s t m d
        case 0x72, 0x76: return folded(p + 2) == 0x65 ? 3 : 0  // re ve
        case 0x6C: return folded(p + 2) == 0x6C ? 3 : 0  // ll
        default: return 0
        }
    }

    @inline(__always) private static func run(_ text: UnsafeBufferPointer<UInt32>, from start: Int, _ kindWanted: Kind) -> Int {
        var i = start
        while i < text.count, kind(text[i]) == kindWanted { i += 1 }
        return i
    }

    /// `\s+(?!\S)|\s+` at a whitespace scalar.
    @inline(__always) private static func trailingSpaces(_ text: UnsafeBufferPointer<UInt32>, _ p: Int) -> Int {
        let end = run(text, from: p, .space)
        if end == text.count || end - 1 == p { return end }
        return end - 1
    }

    private static func matchGPT2(_ text: UnsafeBufferPointer<UInt32>, _ p: Int) -> Int {
        let length = contraction(text, p, caseInsensitive: false)
        if length > 0 { return p + length }
        var start = p
        if text[p] == 0x20, p + 1 < text.count, kind(text[p + 1]) != .space { start = p + 1 }
        let k = kind(text[start])
        if k != .space { return run(text, from: start + 1, k) }
        return trailingSpaces(text, p)
    }

    private static func matchLlama3(_ text: UnsafeBufferPointer<UInt32>, _ p: Int, maxDigits: Int) -> Int {
        let length = contraction(text, p, caseInsensitive: true)
        if length > 0 { return p + length }
        let c = text[p]
        let k = kind(c)
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if k == .letter { return run(text, from: p + 1, .letter) }
        if k != .number, c != 0x0A, c != 0x0D, p + 1 < text.count, kind(text[p + 1]) == .letter {
            return run(text, from: p + 2, .letter)
        }
        // \p{N}{1,maxDigits}
        if k == .number {
            var end = p + 1
            while end < text.count, end - p < maxDigits, kind(text[end]) == .number { end += 1 }
            return end
        }
        // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
        var otherStart: Int?
        if k == .other {
            otherStart = p
        } else if c == 0x20, p + 1 < text.count, kind(text[p + 1]) == .other {
            otherStart = p + 1
        }
        if let start = otherStart {
            var end = run(text, from: start, .other)
            while end < text.count, text[end] == 0x0A || text[end] == 0x0D { end += 1 }
            return end
        }
        // \s*[\r\n]+ : whitespace up to and including the last newline of the run.
        let spaceEnd = run(text, from: p, .space)
        var lastNewline: Int?
        for i in p..<spaceEnd where text[i] == 0x0A || text[i] == 0x0D { lastNewline = i }
        if let lastNewline { return lastNewline + 1 }
        return trailingSpaces(text, p)
    }
}
