/// A regular expression → grammar (`pattern` in a schema, `regex` / `guided_regex` requests), matched
/// whole as xgrammar matches it: `^` and `$` at the ends are accepted and change nothing. Supported:
/// literals and escapes (`\d \w \s` and their negations, `\n \t \r \f \v`, `\xHH`, `\uHHHH`, escaped
/// punctuation), `.` (any character, a newline too, as in xgrammar), classes with ranges and negation, groups (`( )`,
/// `(?: )`, named `(?<n> )`), `|`, and the quantifiers `* + ? {m} {m,} {m,n}` (lazy forms read as
/// greedy: the language is the same). Backreferences and lookaround are refused by name.
public enum RegexGrammar {
    /// The grammar whose root matches `pattern`.
    public static func grammar(_ pattern: String) throws(GrammarError) -> Grammar {
        Grammar(rules: [.init(name: "root", body: try expression(pattern, characters: nil))])
    }

    /// `pattern` as an expression whose every character also lies in `characters` (a JSON string's raw
    /// characters, for a schema's `pattern`).
    public static func expression(_ pattern: String, characters: GrammarExpression?) throws(GrammarError) -> GrammarExpression {
        var allowed: CharacterClass? = nil
        if case .characterClass(let cls)? = characters { allowed = cls }
        var parser = Parser(scalars: Array(pattern.unicodeScalars), pattern: pattern, allowed: allowed)
        if parser.peek("^") { parser.index += 1 }
        let result = try parser.alternation()
        guard parser.index == parser.scalars.count else { throw parser.error("unexpected ')'") }
        return result
    }

    private struct Parser {
        let scalars: [Unicode.Scalar]
        let pattern: String
        let allowed: CharacterClass?
        var index = 0

        func error(_ message: String) -> GrammarError {
            GrammarError("regex '\(pattern)', at character \(index): \(message)")
        }

        func peek(_ scalar: Unicode.Scalar) -> Bool { index < scalars.count && scalars[index] == scalar }

        func restricted(_ cls: CharacterClass) -> GrammarExpression {
            .characterClass(allowed.map { cls.intersection($0) } ?? cls)
        }

        mutating func alternation() throws(GrammarError) -> GrammarExpression {
            var options = [try sequence()]
            while peek("|") {
                index += 1
                options.append(try sequence())
            }
            return options.count == 1 ? options[0] : .choice(options)
        }

        mutating func sequence() throws(GrammarError) -> GrammarExpression {
            var items: [GrammarExpression] = []
            while index < scalars.count, !peek("|"), !peek(")") {
                if peek("$") && (index + 1 == scalars.count || scalars[index + 1] == ")" || scalars[index + 1] == "|") {
                    index += 1
                    continue
                }
                items.append(try quantified(try atom()))
            }
            return items.isEmpty ? .empty : items.count == 1 ? items[0] : .sequence(items)
        }

        mutating func quantified(_ base: GrammarExpression) throws(GrammarError) -> GrammarExpression {
            var result = base
            while index < scalars.count {
                let bounds: (Int, Int?)
                switch scalars[index] {
                case "*": bounds = (0, nil)
                case "+": bounds = (1, nil)
                case "?": bounds = (0, 1)
                case "{":
                    guard let parsed = braces() else { return result }
                    bounds = parsed
                    result = .repetition(result, min: bounds.0, max: bounds.1)
                    if peek("?") || peek("+") { index += 1 }
                    continue
                default: return result
                }
                index += 1
                if peek("?") || peek("+") { index += 1 }  // lazy / possessive: the same language
                result = .repetition(result, min: bounds.0, max: bounds.1)
            }
            return result
        }

        /// `{m}`, `{m,}`, `{m,n}`; nil (and nothing read) where the brace is a literal.
        mutating func braces() -> (Int, Int?)? {
            var position = index + 1
            func number() -> Int? {
                var text = ""
                while position < scalars.count, ("0"..."9").contains(scalars[position]) {
                    text.unicodeScalars.append(scalars[position])
                    position += 1
                }
                return Int(text)
            }
            guard let low = number() else { return nil }
            var high: Int? = low
            if position < scalars.count, scalars[position] == "," {
                position += 1
                high = number()
            }
            guard position < scalars.count, scalars[position] == "}", high.map({ $0 >= low }) ?? true else { return nil }
            index = position + 1
            return (low, high)
        }

        mutating func atom() throws(GrammarError) -> GrammarExpression {
            let scalar = scalars[index]
            index += 1
            switch scalar {
            case "(":
                if peek("?") {
                    index += 1
                    if peek(":") {
                        index += 1
                    } else if peek("<"), index + 1 < scalars.count, scalars[index + 1] != "=", scalars[index + 1] != "!" {
                        while index < scalars.count, scalars[index] != ">" { index += 1 }
                        index += 1
                    } else {
                        throw error("lookaround and inline flags are not supported")
                    }
                }
                let inner = try alternation()
                guard peek(")") else { throw error("missing ')'") }
                index += 1
                return inner
            case "[":
                return restricted(try characterClass())
            case ".":
                return restricted(.any)
            case "\\":
                guard index < scalars.count else { throw error("a '\\' ends the pattern") }
                if let cls = try escapeClass() { return restricted(cls) }
                return restricted(.character(try escapedCharacter()))
            case "*", "+", "?":
                throw error("'\(scalar)' has nothing to repeat")
            default:
                return restricted(.character(scalar.value))
            }
        }

        /// `\d \D \w \W \s \S` (and nil, nothing read, for other escapes).
        mutating func escapeClass() throws(GrammarError) -> CharacterClass? {
            let digits: [ClosedRange<UInt32>] = [0x30...0x39]
            let word: [ClosedRange<UInt32>] = [0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A]
            let space: [ClosedRange<UInt32>] = [0x09...0x0D, 0x20...0x20]
            let result: CharacterClass?
            switch scalars[index] {
            case "d": result = CharacterClass(ranges: digits)
            case "D": result = CharacterClass(ranges: digits, negated: true)
            case "w": result = CharacterClass(ranges: word)
            case "W": result = CharacterClass(ranges: word, negated: true)
            case "s": result = CharacterClass(ranges: space)
            case "S": result = CharacterClass(ranges: space, negated: true)
            case "1"..."9": throw error("backreferences are not supported")
            case "b", "B": throw error("word boundaries are not supported")
            default: result = nil
            }
            if result != nil { index += 1 }
            return result
        }

        mutating func escapedCharacter() throws(GrammarError) -> UInt32 {
            let scalar = scalars[index]
            index += 1
            switch scalar {
            case "n": return 0x0A
            case "t": return 0x09
            case "r": return 0x0D
            case "f": return 0x0C
            case "v": return 0x0B
            case "0": return 0
            case "x", "u":
                let digits = scalar == "x" ? 2 : 4
                guard index + digits <= scalars.count,
                    let value = UInt32(String(String.UnicodeScalarView(scalars[index..<(index + digits)])), radix: 16)
                else { throw error("expected \(digits) hexadecimal digits") }
                index += digits
                return value
            default: return scalar.value
            }
        }

        mutating func characterClass() throws(GrammarError) -> CharacterClass {
            let negated = peek("^")
            if negated { index += 1 }
            var ranges: [ClosedRange<UInt32>] = []
            var first = true
            while true {
                guard index < scalars.count else { throw error("missing ']'") }
                if scalars[index] == "]" && !first {
                    index += 1
                    break
                }
                first = false
                var lower: UInt32
                if scalars[index] == "\\" {
                    index += 1
                    guard index < scalars.count else { throw error("a '\\' ends the pattern") }
                    if let cls = try escapeClass() {
                        ranges += cls.positiveRanges
                        continue
                    }
                    lower = try escapedCharacter()
                } else {
                    lower = scalars[index].value
                    index += 1
                }
                if peek("-"), index + 1 < scalars.count, scalars[index + 1] != "]" {
                    index += 1
                    var upper: UInt32
                    if scalars[index] == "\\" {
                        index += 1
                        upper = try escapedCharacter()
                    } else {
                        upper = scalars[index].value
                        index += 1
                    }
                    guard lower <= upper else { throw error("character range is backwards") }
                    ranges.append(lower...upper)
                } else {
                    ranges.append(lower...lower)
                    _ = lower
                }
            }
            return CharacterClass(ranges: ranges, negated: negated)
        }
    }
}
