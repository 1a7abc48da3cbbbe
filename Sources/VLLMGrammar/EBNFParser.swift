/// Reads a grammar in xgrammar's EBNF (the GBNF dialect vLLM passes to xgrammar for `grammar`
/// requests): `name ::= body` rules, `"literals"` with C/JSON escapes, `[a-z]` / `[^"\\]` classes,
/// `( )`, `|`, `*`, `+`, `?`, `{m}`, `{m,}`, `{m,n}` (`{m, -1}`: unbounded), `.`, `#` comments, and a
/// rule's lookahead assertion `(= …)`, which is read and ignored: it prunes, and never changes the
/// language. The start rule is `root`.
public enum EBNFParser {
    public static func parse(_ text: String, rootName: String = "root") throws(GrammarError) -> Grammar {
        var parser = Parser(scalars: Array(text.unicodeScalars))
        var rules: [Grammar.Rule] = []
        var seen = Set<String>()
        parser.skipSpace(newlines: true)
        while !parser.atEnd {
            let name = try parser.ruleName()
            parser.skipSpace(newlines: true)
            guard parser.consume("::=") else { throw parser.error("expected '::=' after rule name '\(name)'") }
            let body = try parser.choice()
            parser.skipSpace(newlines: true)
            if parser.peek("(=") {
                parser.index += 2
                _ = try parser.choice()
                parser.skipSpace(newlines: true)
                guard parser.consume(")") else { throw parser.error("expected ')' closing the lookahead of '\(name)'") }
            }
            guard seen.insert(name).inserted else { throw GrammarError("rule '\(name)' is defined twice") }
            rules.append(.init(name: name, body: body))
            parser.skipSpace(newlines: true)
        }
        guard seen.contains(rootName) else { throw GrammarError("the grammar has no '\(rootName)' rule") }
        for rule in rules {
            for reference in references(in: rule.body) where !seen.contains(reference) {
                throw GrammarError("rule '\(rule.name)' refers to '\(reference)', which is not defined")
            }
        }
        return Grammar(rules: rules, rootName: rootName)
    }

    /// A character class written as in a grammar (`[a-z0-9\\-]`).
    static func classFrom(_ text: String) throws(GrammarError) -> CharacterClass {
        var parser = Parser(scalars: Array(text.unicodeScalars))
        guard case .characterClass(let cls) = try parser.primary() else { throw GrammarError("not a class: \(text)") }
        return cls
    }

    static func references(in expression: GrammarExpression) -> [String] {
        switch expression {
        case .rule(let name): return [name]
        case .sequence(let items), .choice(let items): return items.flatMap(references)
        case .repetition(let item, _, _): return references(in: item)
        case .empty, .literal, .characterClass: return []
        }
    }

    private struct Parser {
        let scalars: [Unicode.Scalar]
        var index = 0

        var atEnd: Bool { index >= scalars.count }

        func error(_ message: String) -> GrammarError {
            var line = 1
            var column = 1
            for scalar in scalars[..<min(index, scalars.count)] {
                if scalar == "\n" {
                    line += 1
                    column = 1
                } else {
                    column += 1
                }
            }
            return GrammarError("EBNF grammar, line \(line), column \(column): \(message)")
        }

        func peek(_ text: String) -> Bool {
            var position = index
            for scalar in text.unicodeScalars {
                guard position < scalars.count, scalars[position] == scalar else { return false }
                position += 1
            }
            return true
        }

        mutating func consume(_ text: String) -> Bool {
            guard peek(text) else { return false }
            index += text.unicodeScalars.count
            return true
        }

        mutating func skipSpace(newlines: Bool) {
            while index < scalars.count {
                let scalar = scalars[index]
                if scalar == " " || scalar == "\t" || (newlines && (scalar == "\n" || scalar == "\r")) {
                    index += 1
                } else if scalar == "#" {
                    while index < scalars.count && scalars[index] != "\n" { index += 1 }
                } else {
                    return
                }
            }
        }

        static func isNameStart(_ scalar: Unicode.Scalar) -> Bool {
            scalar == "_" || ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
        }

        static func isName(_ scalar: Unicode.Scalar) -> Bool {
            isNameStart(scalar) || ("0"..."9").contains(scalar) || scalar == "-" || scalar == "."
        }

        mutating func ruleName() throws(GrammarError) -> String {
            guard index < scalars.count, Self.isNameStart(scalars[index]) else { throw error("expected a rule name") }
            var name = String.UnicodeScalarView()
            while index < scalars.count, Self.isName(scalars[index]) {
                name.append(scalars[index])
                index += 1
            }
            return String(name)
        }

        /// Whether a new rule (`name ::=`) starts here: a body ends at the next one.
        func atRuleStart() -> Bool {
            var copy = self
            guard let _ = try? copy.ruleName() else { return false }
            copy.skipSpace(newlines: true)
            return copy.peek("::=")
        }

        mutating func choice() throws(GrammarError) -> GrammarExpression {
            var alternatives = [try sequence()]
            while true {
                var lookahead = self
                lookahead.skipSpace(newlines: true)
                guard lookahead.peek("|") else { break }
                self = lookahead
                index += 1
                alternatives.append(try sequence())
            }
            return alternatives.count == 1 ? alternatives[0] : .choice(alternatives)
        }

        mutating func sequence() throws(GrammarError) -> GrammarExpression {
            var items: [GrammarExpression] = []
            while true {
                var lookahead = self
                lookahead.skipSpace(newlines: true)
                guard !lookahead.atEnd else { break }
                let next = lookahead.scalars[lookahead.index]
                if next == "|" || next == ")" || lookahead.peek("(=") || lookahead.atRuleStart() { break }
                self = lookahead
                items.append(try postfix(try primary()))
            }
            switch items.count {
            case 0: return .empty
            case 1: return items[0]
            default: return .sequence(items)
            }
        }

        mutating func primary() throws(GrammarError) -> GrammarExpression {
            let scalar = scalars[index]
            switch scalar {
            case "\"":
                index += 1
                var codePoints: [UInt32] = []
                while true {
                    guard index < scalars.count else { throw error("unterminated string literal") }
                    if scalars[index] == "\"" {
                        index += 1
                        break
                    }
                    codePoints.append(try character(inClass: false))
                }
                return codePoints.isEmpty ? .empty : .literal(codePoints)
            case "[":
                index += 1
                let negated = consume("^")
                var ranges: [ClosedRange<UInt32>] = []
                while true {
                    guard index < scalars.count else { throw error("unterminated character class") }
                    if scalars[index] == "]" {
                        index += 1
                        break
                    }
                    let lower = try character(inClass: true)
                    if peek("-"), index + 1 < scalars.count, scalars[index + 1] != "]" {
                        index += 1
                        let upper = try character(inClass: true)
                        guard lower <= upper else { throw error("character range is backwards") }
                        ranges.append(lower...upper)
                    } else {
                        ranges.append(lower...lower)
                    }
                }
                return .characterClass(CharacterClass(ranges: ranges, negated: negated))
            case "(":
                index += 1
                let inner = try choice()
                skipSpace(newlines: true)
                guard consume(")") else { throw error("expected ')'") }
                return inner
            case ".":
                index += 1
                return .characterClass(.any)
            default:
                guard Self.isNameStart(scalar) else { throw error("unexpected '\(scalar)'") }
                return .rule(try ruleName())
            }
        }

        mutating func postfix(_ base: GrammarExpression) throws(GrammarError) -> GrammarExpression {
            var expression = base
            while index < scalars.count {
                switch scalars[index] {
                case "*":
                    index += 1
                    expression = .repetition(expression, min: 0, max: nil)
                case "+":
                    index += 1
                    expression = .repetition(expression, min: 1, max: nil)
                case "?":
                    index += 1
                    expression = .repetition(expression, min: 0, max: 1)
                case "{":
                    index += 1
                    skipSpace(newlines: false)
                    let lower = try integer()
                    skipSpace(newlines: false)
                    var upper: Int? = lower
                    if consume(",") {
                        skipSpace(newlines: false)
                        if peek("}") {
                            upper = nil
                        } else {
                            let bound = try integer()
                            upper = bound < 0 ? nil : bound
                        }
                        skipSpace(newlines: false)
                    }
                    guard consume("}") else { throw error("expected '}' closing a repetition") }
                    guard lower >= 0, upper.map({ $0 >= lower }) ?? true else {
                        throw error("repetition bounds {\(lower), \(upper.map(String.init) ?? "")} are invalid")
                    }
                    expression = .repetition(expression, min: lower, max: upper)
                default:
                    return expression
                }
            }
            return expression
        }

        mutating func integer() throws(GrammarError) -> Int {
            var text = ""
            if consume("-") { text = "-" }
            while index < scalars.count, ("0"..."9").contains(scalars[index]) {
                text.unicodeScalars.append(scalars[index])
                index += 1
            }
            guard let value = Int(text) else { throw error("expected a number") }
            return value
        }

        /// One character of a literal or class, escapes decoded.
        mutating func character(inClass: Bool) throws(GrammarError) -> UInt32 {
            let scalar = scalars[index]
            index += 1
            guard scalar == "\\" else { return scalar.value }
            guard index < scalars.count else { throw error("a '\\' ends the grammar") }
            let escaped = scalars[index]
            index += 1
            switch escaped {
            case "n": return 0x0A
            case "r": return 0x0D
            case "t": return 0x09
            case "0": return 0
            case "b": return 0x08
            case "f": return 0x0C
            case "v": return 0x0B
            case "a": return 0x07
            case "e": return 0x1B
            case "x": return try hex(digits: 2)
            case "u": return try hex(digits: 4)
            case "U": return try hex(digits: 8)
            default: return escaped.value
            }
        }

        mutating func hex(digits: Int) throws(GrammarError) -> UInt32 {
            var value: UInt32 = 0
            for _ in 0..<digits {
                guard index < scalars.count, let digit = UInt32(String(scalars[index]), radix: 16) else {
                    throw error("expected \(digits) hexadecimal digits")
                }
                value = value * 16 + digit
                index += 1
            }
            return value
        }
    }
}
