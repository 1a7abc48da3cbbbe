// Parses the Oniguruma-syntax patterns that tokenizer.json files carry into a small syntax tree.
// Anything outside the supported subset is an error naming the construct, never a different match.

/// One item of a bracketed character class, or a shorthand class such as \s or \p{L}.
enum ClassItem: Sendable {
    case range(UInt32, UInt32)
    case letter, number, space, word, digit, punctuation, symbol, mark, separator
    case category(Unicode.GeneralCategory)
    indirect case negated(ClassItem)
    case nested(CharClass)
}

/// A character class: items, possibly negated, optionally case-insensitive.
struct CharClass: Sendable {
    var items: [ClassItem]
    var isNegated: Bool
    var caseInsensitive: Bool
}

/// The syntax tree of a pattern.
indirect enum RegexNode: Sendable {
    case empty
    case literal(UInt32, caseInsensitive: Bool)
    case charClass(CharClass)
    case anyExceptNewline
    case sequence([RegexNode])
    case alternation([RegexNode])
    case repetition(RegexNode, min: Int, max: Int?, greedy: Bool)
    case lookahead(RegexNode, negative: Bool)
    case lineStart, lineEnd, textStart, textEnd
}

struct RegexParser {
    let pattern: String
    let scalars: [UInt32]
    var index = 0

    init(_ pattern: String) {
        self.pattern = pattern
        self.scalars = pattern.unicodeScalars.map(\.value)
    }

    func fail(_ message: String) -> TokenizerError {
        .invalidPattern(pattern: pattern, message: "\(message) at character \(index)")
    }

    mutating func parse() throws(TokenizerError) -> RegexNode {
        let node = try parseAlternation(caseInsensitive: false)
        if index < scalars.count { throw fail("unbalanced ')'") }
        return node
    }

    private var peek: UInt32? { index < scalars.count ? scalars[index] : nil }

    private mutating func parseAlternation(caseInsensitive: Bool) throws(TokenizerError) -> RegexNode {
        var flags = caseInsensitive
        var branches: [RegexNode] = [try parseSequence(caseInsensitive: &flags)]
        while peek == 0x7C {  // |
            index += 1
            branches.append(try parseSequence(caseInsensitive: &flags))
        }
        return branches.count == 1 ? branches[0] : .alternation(branches)
    }

    private mutating func parseSequence(caseInsensitive: inout Bool) throws(TokenizerError) -> RegexNode {
        var items: [RegexNode] = []
        while let c = peek, c != 0x7C, c != 0x29 {  // | )
            // An inline flag group "(?i)" changes the flags for the rest of the enclosing group.
            if c == 0x28, index + 3 < scalars.count, scalars[index + 1] == 0x3F, scalars[index + 2] == 0x69,
                scalars[index + 3] == 0x29
            {
                caseInsensitive = true
                index += 4
                continue
            }
            var atom = try parseAtom(caseInsensitive: caseInsensitive)
            atom = try parseQuantifiers(atom)
            items.append(atom)
        }
        if items.isEmpty { return .empty }
        return items.count == 1 ? items[0] : .sequence(items)
    }

    private mutating func parseQuantifiers(_ atom: RegexNode) throws(TokenizerError) -> RegexNode {
        var node = atom
        while let c = peek {
            var minCount = 0
            var maxCount: Int?
            switch c {
            case 0x2A: index += 1  // *
            case 0x2B:  // +
                index += 1
                minCount = 1
            case 0x3F:  // ?
                index += 1
                maxCount = 1
            case 0x7B:  // {
                guard let (lo, hi) = try parseBraces() else { return node }
                minCount = lo
                maxCount = hi
            default:
                return node
            }
            var greedy = true
            if peek == 0x3F {
                index += 1
                greedy = false
            } else if peek == 0x2B {
                throw fail("possessive quantifiers are not supported")
            }
            node = .repetition(node, min: minCount, max: maxCount, greedy: greedy)
        }
        return node
    }

    /// Parses {m}, {m,}, {m,n}; returns nil (leaving a literal '{') when it is not a valid interval.
    private mutating func parseBraces() throws(TokenizerError) -> (Int, Int?)? {
        let start = index
        index += 1
        func number(_ parser: inout RegexParser) -> Int? {
            var value: Int?
            while let c = parser.peek, c >= 0x30, c <= 0x39 {
                value = (value ?? 0) * 10 + Int(c - 0x30)
                parser.index += 1
            }
            return value
        }
        let lo = number(&self)
        var hi = lo
        if peek == 0x2C {
            index += 1
            hi = number(&self)
        }
        guard peek == 0x7D, let low = lo else {
            index = start
            return nil
        }
        index += 1
        if let high = hi, high < low { throw fail("invalid interval") }
        return (low, hi)
    }

    private mutating func parseAtom(caseInsensitive: Bool) throws(TokenizerError) -> RegexNode {
        guard let c = peek else { throw fail("unexpected end") }
        index += 1
        switch c {
        case 0x28: return try parseGroup(caseInsensitive: caseInsensitive)
        case 0x5B: return .charClass(try parseClass(caseInsensitive: caseInsensitive))
        case 0x2E: return .anyExceptNewline
        case 0x5E: return .lineStart
        case 0x24: return .lineEnd
        case 0x5C: return try parseEscape(caseInsensitive: caseInsensitive, inClass: false).node(caseInsensitive)
        case 0x2A, 0x2B, 0x3F: throw fail("quantifier without a target")
        default: return .literal(c, caseInsensitive: caseInsensitive)
        }
    }

    private mutating func parseGroup(caseInsensitive: Bool) throws(TokenizerError) -> RegexNode {
        var flags = caseInsensitive
        var lookahead: Bool?
        if peek == 0x3F {  // ?
            index += 1
            guard let kind = peek else { throw fail("unterminated group") }
            index += 1
            switch kind {
            case 0x3A: break  // (?:
            case 0x3D: lookahead = false  // (?=
            case 0x21: lookahead = true  // (?!
            case 0x3C: throw fail("lookbehind is not supported")
            case 0x69:  // (?i: or (?i)
                flags = true
                guard peek == 0x3A else { throw fail("unsupported inline flag group") }
                index += 1
            case 0x2D:  // (?-i:
                guard peek == 0x69, index + 1 < scalars.count, scalars[index + 1] == 0x3A else {
                    throw fail("unsupported inline flag group")
                }
                index += 2
                flags = false
            default:
                throw fail("unsupported group syntax")
            }
        }
        let inner = try parseAlternation(caseInsensitive: flags)
        guard peek == 0x29 else { throw fail("missing ')'") }
        index += 1
        if let negative = lookahead { return .lookahead(inner, negative: negative) }
        return inner
    }

    /// What an escape stands for.
    enum Escaped {
        case scalar(UInt32)
        case item(ClassItem)
        case anchor(RegexNode)

        func node(_ caseInsensitive: Bool) -> RegexNode {
            switch self {
            case .scalar(let value): return .literal(value, caseInsensitive: caseInsensitive)
            case .item(let item): return .charClass(CharClass(items: [item], isNegated: false, caseInsensitive: false))
            case .anchor(let node): return node
            }
        }
    }

    private mutating func parseHex(maxDigits: Int) throws(TokenizerError) -> UInt32 {
        var value: UInt32 = 0
        var count = 0
        while count < maxDigits, let c = peek, let digit = Self.hexValue(c) {
            value = value * 16 + digit
            index += 1
            count += 1
        }
        if count == 0 { throw fail("invalid hexadecimal escape") }
        return value
    }

    private static func hexValue(_ c: UInt32) -> UInt32? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }

    private mutating func parseEscape(caseInsensitive: Bool, inClass: Bool) throws(TokenizerError) -> Escaped {
        guard let c = peek else { throw fail("trailing backslash") }
        index += 1
        switch Unicode.Scalar(c).map(Character.init) {
        case "n": return .scalar(0x0A)
        case "r": return .scalar(0x0D)
        case "t": return .scalar(0x09)
        case "f": return .scalar(0x0C)
        case "v": return .scalar(0x0B)
        case "a": return .scalar(0x07)
        case "e": return .scalar(0x1B)
        case "0": return .scalar(0)
        case "s": return .item(.space)
        case "S": return .item(.negated(.space))
        case "d": return .item(.digit)
        case "D": return .item(.negated(.digit))
        case "w": return .item(.word)
        case "W": return .item(.negated(.word))
        case "x":
            if peek == 0x7B {
                index += 1
                let value = try parseHex(maxDigits: 8)
                guard peek == 0x7D else { throw fail("unterminated \\x{...}") }
                index += 1
                return .scalar(value)
            }
            return .scalar(try parseHex(maxDigits: 2))
        case "u": return .scalar(try parseHex(maxDigits: 4))
        case "p", "P":
            let item = try parseProperty()
            return .item(c == 0x50 ? .negated(item) : item)
        case "A" where !inClass: return .anchor(.textStart)
        case "z" where !inClass, "Z" where !inClass: return .anchor(.textEnd)
        case "b", "B", "G", "k", "g":
            throw fail("escape \\\(Character(Unicode.Scalar(c)!)) is not supported")
        default:
            let isAlnum = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
            if isAlnum { throw fail("unknown escape") }
            return .scalar(c)
        }
    }

    private mutating func parseProperty() throws(TokenizerError) -> ClassItem {
        guard peek == 0x7B else { throw fail("expected '{' after \\p") }
        index += 1
        var name = ""
        var negate = false
        if peek == 0x5E {
            negate = true
            index += 1
        }
        while let c = peek, c != 0x7D {
            name.unicodeScalars.append(Unicode.Scalar(c)!)
            index += 1
        }
        guard peek == 0x7D else { throw fail("unterminated \\p{...}") }
        index += 1
        let item: ClassItem
        switch name {
        case "L", "Letter": item = .letter
        case "N", "Number": item = .number
        case "P", "Punctuation": item = .punctuation
        case "S", "Symbol": item = .symbol
        case "M", "Mark": item = .mark
        case "Z", "Separator": item = .separator
        case "Lu": item = .category(.uppercaseLetter)
        case "Ll": item = .category(.lowercaseLetter)
        case "Lt": item = .category(.titlecaseLetter)
        case "Lm": item = .category(.modifierLetter)
        case "Lo": item = .category(.otherLetter)
        case "Nd": item = .category(.decimalNumber)
        case "Nl": item = .category(.letterNumber)
        case "No": item = .category(.otherNumber)
        case "Mn": item = .category(.nonspacingMark)
        case "Mc": item = .category(.spacingMark)
        case "Me": item = .category(.enclosingMark)
        case "Zs": item = .category(.spaceSeparator)
        case "Pc": item = .category(.connectorPunctuation)
        case "Pd": item = .category(.dashPunctuation)
        case "Ps": item = .category(.openPunctuation)
        case "Pe": item = .category(.closePunctuation)
        case "Po": item = .category(.otherPunctuation)
        case "Sm": item = .category(.mathSymbol)
        case "Sc": item = .category(.currencySymbol)
        case "Sk": item = .category(.modifierSymbol)
        case "So": item = .category(.otherSymbol)
        case "Cc": item = .category(.control)
        case "Cf": item = .category(.format)
        default: throw fail("unsupported property \\p{\(name)}")
        }
        return negate ? .negated(item) : item
    }

    private mutating func parseClass(caseInsensitive: Bool) throws(TokenizerError) -> CharClass {
        var result = CharClass(items: [], isNegated: false, caseInsensitive: caseInsensitive)
        if peek == 0x5E {
            result.isNegated = true
            index += 1
        }
        var first = true
        while true {
            guard let c = peek else { throw fail("unterminated character class") }
            if c == 0x5D && !first {
                index += 1
                return result
            }
            first = false
            if c == 0x5B {
                if index + 1 < scalars.count, scalars[index + 1] == 0x3A { throw fail("POSIX classes are not supported") }
                index += 1
                result.items.append(.nested(try parseClass(caseInsensitive: caseInsensitive)))
                continue
            }
            if c == 0x26, index + 1 < scalars.count, scalars[index + 1] == 0x26 {
                throw fail("class intersection is not supported")
            }
            index += 1
            var low: UInt32
            if c == 0x5C {
                switch try parseEscape(caseInsensitive: caseInsensitive, inClass: true) {
                case .scalar(let value): low = value
                case .item(let item):
                    result.items.append(item)
                    continue
                case .anchor: throw fail("anchor inside a class")
                }
            } else {
                low = c
            }
            // A range "a-b", unless the '-' is last in the class.
            if peek == 0x2D, index + 1 < scalars.count, scalars[index + 1] != 0x5D {
                index += 1
                guard let d = peek else { throw fail("unterminated character class") }
                index += 1
                var high = d
                if d == 0x5C {
                    guard case .scalar(let value) = try parseEscape(caseInsensitive: caseInsensitive, inClass: true) else {
                        throw fail("invalid range end")
                    }
                    high = value
                }
                if high < low { throw fail("invalid range") }
                result.items.append(.range(low, high))
                low = 0
                continue
            }
            result.items.append(.range(low, low))
        }
    }
}
