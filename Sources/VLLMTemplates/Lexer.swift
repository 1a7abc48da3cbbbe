/// One lexical token, with where it starts in the (newline-normalised) source.
struct Token: Sendable {
    enum Kind: Sendable, Equatable {
        case data(String)
        case blockBegin, blockEnd, variableBegin, variableEnd
        case name(String)
        case string(String)
        case integer(Int)
        case float(Double)
        case op(String)
        case end
    }
    var kind: Kind
    var offset: Int
}

/// Splits template source into tokens the way jinja2's lexer does with transformers' settings:
/// `trim_blocks` (drop the newline after a block or comment tag), `lstrip_blocks` (drop a line's
/// indentation before a block or comment tag), `keep_trailing_newline` off, and `-`/`+` whitespace control.
struct Lexer {
    let source: [Unicode.Scalar]
    let lineStarts: [Int]
    private(set) var tokens: [Token] = []
    private var pos = 0
    private var lineStarting = true

    init(_ text: String) {
        // jinja2 turns \r\n and \r into \n, then drops one trailing newline.
        var scalars: [Unicode.Scalar] = []
        var iterator = text.unicodeScalars.makeIterator()
        var pending = iterator.next()
        while let scalar = pending {
            pending = iterator.next()
            if scalar == "\r" {
                scalars.append("\n")
                if pending == "\n" { pending = iterator.next() }
            } else {
                scalars.append(scalar)
            }
        }
        if scalars.last == "\n" { scalars.removeLast() }
        source = scalars
        var starts = [0]
        for (i, s) in scalars.enumerated() where s == "\n" { starts.append(i + 1) }
        lineStarts = starts
    }

    func location(_ offset: Int) -> (line: Int, column: Int) {
        var low = 0
        var high = lineStarts.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if lineStarts[mid] <= offset { low = mid } else { high = mid - 1 }
        }
        return (low + 1, offset - lineStarts[low] + 1)
    }

    func error(_ message: String, at offset: Int) -> TemplateError {
        let (line, column) = location(offset)
        return .syntax(message: message, line: line, column: column)
    }

    private func at(_ offset: Int, _ text: String) -> Bool {
        var i = offset
        for scalar in text.unicodeScalars {
            guard i < source.count, source[i] == scalar else { return false }
            i += 1
        }
        return true
    }

    private func string(_ range: Range<Int>) -> String {
        var s = String.UnicodeScalarView()
        s.append(contentsOf: source[range])
        return String(s)
    }

    private func skipSpace(_ offset: Int) -> Int {
        var i = offset
        while i < source.count, source[i].isPythonSpace { i += 1 }
        return i
    }

    enum TagKind { case comment, block, variable, raw }

    /// The next tag opener at or after `from`: where it starts, its kind, its whitespace sign, where its body starts.
    private func nextTag(from: Int) -> (start: Int, kind: TagKind, sign: Unicode.Scalar?, bodyStart: Int)? {
        var i = from
        while i + 1 < source.count {
            if source[i] == "{" {
                let kind: TagKind?
                switch source[i + 1] {
                case "#": kind = .comment
                case "%": kind = .block
                case "{": kind = .variable
                default: kind = nil
                }
                if let kind {
                    var bodyStart = i + 2
                    var sign: Unicode.Scalar?
                    if bodyStart < source.count, source[bodyStart] == "-" || source[bodyStart] == "+" {
                        sign = source[bodyStart]
                        bodyStart += 1
                    }
                    if kind == .block, let rawEnd = rawOpenerEnd(bodyStart) {
                        return (i, .raw, sign, rawEnd)
                    }
                    return (i, kind, sign, bodyStart)
                }
            }
            i += 1
        }
        return nil
    }

    /// `{% raw %}` (no trim_blocks after it, as in jinja2): the offset after the opener, if this is one.
    private func rawOpenerEnd(_ offset: Int) -> Int? {
        var i = skipSpace(offset)
        guard at(i, "raw") else { return nil }
        i = skipSpace(i + 3)
        if at(i, "-%}") { return skipSpace(i + 3) }
        if at(i, "%}") { return i + 2 }
        return nil
    }

    /// Applies `-` (strip all trailing whitespace) or lstrip_blocks to the text before a tag.
    private func stripText(_ text: Range<Int>, sign: Unicode.Scalar?, lstrip: Bool) -> Range<Int> {
        if sign == "-" {
            var end = text.upperBound
            while end > text.lowerBound, source[end - 1].isPythonSpace { end -= 1 }
            return text.lowerBound..<end
        }
        guard sign != "+", lstrip else { return text }
        var lineStart = text.upperBound
        while lineStart > text.lowerBound, source[lineStart - 1] != "\n" { lineStart -= 1 }
        guard lineStart > text.lowerBound || lineStarting else { return text }
        guard lineStart < text.upperBound, source[lineStart..<text.upperBound].allSatisfy(\.isPythonSpace)
        else { return text }
        return text.lowerBound..<lineStart
    }

    /// The closing `%}` / `#}` of a block or comment: `+%}` keeps, `-%}` eats whitespace, `%}` eats one newline.
    private func blockClose(_ offset: Int, _ close: String) -> Int? {
        if at(offset, "+" + close) { return offset + 3 }
        if at(offset, "-" + close) { return skipSpace(offset + 3) }
        if at(offset, close) {
            let end = offset + 2
            return end < source.count && source[end] == "\n" ? end + 1 : end
        }
        return nil
    }

    private mutating func emitData(_ range: Range<Int>) {
        if !range.isEmpty { tokens.append(Token(kind: .data(string(range)), offset: range.lowerBound)) }
    }

    mutating func tokenize() throws -> [Token] {
        while pos < source.count {
            guard let tag = nextTag(from: pos) else {
                emitData(pos..<source.count)
                break
            }
            emitData(stripText(pos..<tag.start, sign: tag.sign, lstrip: tag.kind != .variable))
            switch tag.kind {
            case .comment:
                var i = tag.bodyStart
                while true {
                    guard i < source.count else { throw error("Missing end of comment tag", at: tag.start) }
                    if let end = blockClose(i, "#}") {
                        pos = end
                        break
                    }
                    i += 1
                }
            case .raw:
                var i = tag.bodyStart
                while true {
                    guard i < source.count else { throw error("Missing end of raw directive", at: tag.start) }
                    if at(i, "{%"), let (sign, end) = rawCloser(i + 2) {
                        lineStarting = false
                        let text = stripText(tag.bodyStart..<i, sign: sign, lstrip: true)
                        emitData(text)
                        pos = end
                        break
                    }
                    i += 1
                }
            case .block, .variable:
                tokens.append(Token(kind: tag.kind == .block ? .blockBegin : .variableBegin, offset: tag.start))
                pos = tag.bodyStart
                try tokenizeTag(isBlock: tag.kind == .block, opener: tag.start)
            }
            lineStarting = pos > 0 && source[pos - 1] == "\n"
        }
        tokens.append(Token(kind: .end, offset: source.count))
        return tokens
    }

    private func rawCloser(_ offset: Int) -> (Unicode.Scalar?, Int)? {
        var i = offset
        var sign: Unicode.Scalar?
        if i < source.count, source[i] == "-" || source[i] == "+" {
            sign = source[i]
            i += 1
        }
        i = skipSpace(i)
        guard at(i, "endraw") else { return nil }
        i = skipSpace(i + 6)
        guard let end = blockClose(i, "%}") else { return nil }
        return (sign, end)
    }

    private mutating func tokenizeTag(isBlock: Bool, opener: Int) throws {
        var balance: [Unicode.Scalar] = []
        while true {
            pos = skipSpace(pos)
            guard pos < source.count else {
                throw error("unexpected end of template, expected '\(isBlock ? "end of statement block" : "end of print statement")'", at: opener)
            }
            if balance.isEmpty {
                if isBlock, let end = blockClose(pos, "%}") {
                    tokens.append(Token(kind: .blockEnd, offset: pos))
                    pos = end
                    return
                }
                if !isBlock {
                    if at(pos, "-}}") {
                        tokens.append(Token(kind: .variableEnd, offset: pos))
                        pos = skipSpace(pos + 3)
                        return
                    }
                    if at(pos, "}}") {
                        tokens.append(Token(kind: .variableEnd, offset: pos))
                        pos += 2
                        return
                    }
                }
            }
            let start = pos
            let c = source[pos]
            if c.isASCIIDigit, let number = lexNumber() {
                tokens.append(Token(kind: number, offset: start))
            } else if c == "_" || c.properties.isAlphabetic {
                var end = pos + 1
                while end < source.count,
                    source[end] == "_" || source[end].properties.isAlphabetic
                        || source[end].isASCIIDigit
                {
                    end += 1
                }
                tokens.append(Token(kind: .name(string(pos..<end)), offset: start))
                pos = end
            } else if c == "'" || c == "\"" {
                tokens.append(Token(kind: .string(try lexString(quote: c)), offset: start))
            } else {
                let op = try lexOperator()
                switch op {
                case "(": balance.append(")")
                case "[": balance.append("]")
                case "{": balance.append("}")
                case ")", "]", "}":
                    guard let expected = balance.popLast() else { throw error("unexpected '\(op)'", at: start) }
                    if String(expected) != op { throw error("unexpected '\(op)', expected '\(expected)'", at: start) }
                default: break
                }
                tokens.append(Token(kind: .op(op), offset: start))
            }
        }
    }

    private static let operators = [
        "//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}", ">", "<",
        "=", ".", ":", "|", ",", ";",
    ]

    private mutating func lexOperator() throws -> String {
        for op in Lexer.operators where at(pos, op) {
            pos += op.unicodeScalars.count
            return op
        }
        throw error("unexpected char '\(Character(source[pos]))'", at: pos)
    }

    private mutating func lexNumber() -> Token.Kind? {
        var i = pos
        func digits(_ allowed: (Unicode.Scalar) -> Bool) -> String {
            var out = ""
            while i < source.count, allowed(source[i]) || (source[i] == "_" && i + 1 < source.count && allowed(source[i + 1])) {
                if source[i] != "_" { out.unicodeScalars.append(source[i]) }
                i += 1
            }
            return out
        }
        let isDigit: (Unicode.Scalar) -> Bool = { $0.value >= 48 && $0.value <= 57 }
        if source[i] == "0", i + 1 < source.count, "bBoOxX".unicodeScalars.contains(source[i + 1]) {
            let radix: Int
            switch source[i + 1] {
            case "b", "B": radix = 2
            case "o", "O": radix = 8
            default: radix = 16
            }
            i += 2
            let body = digits { Character($0).hexDigitValue.map { $0 < radix } ?? false }
            guard let value = Int(body, radix: radix) else { return nil }
            pos = i
            return .integer(value)
        }
        let whole = digits(isDigit)
        var text = whole
        var isFloat = false
        let afterDot = pos > 0 && source[pos - 1] == "."
        if !afterDot, i + 1 < source.count, source[i] == ".", isDigit(source[i + 1]) {
            i += 1
            text += "." + digits(isDigit)
            isFloat = true
        }
        if !afterDot, i < source.count, source[i] == "e" || source[i] == "E" {
            var j = i + 1
            var exponent = "e"
            if j < source.count, source[j] == "+" || source[j] == "-" {
                exponent.unicodeScalars.append(source[j])
                j += 1
            }
            if j < source.count, isDigit(source[j]) {
                i = j
                text += exponent + digits(isDigit)
                isFloat = true
            }
        }
        pos = i
        if isFloat { return Double(text).map { .float($0) } }
        return Int(text).map { .integer($0) } ?? Double(text).map { .float($0) }
    }

    /// A quoted string with Python's escapes.
    private mutating func lexString(quote: Unicode.Scalar) throws -> String {
        let start = pos
        var i = pos + 1
        var out = String.UnicodeScalarView()
        while true {
            guard i < source.count else { throw error("unexpected char '\(Character(quote))'", at: start) }
            let c = source[i]
            if c == quote { break }
            if c == "\\", i + 1 < source.count {
                i += 1
                let e = source[i]
                switch e {
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "r": out.append("\r")
                case "\\": out.append("\\")
                case "'": out.append("'")
                case "\"": out.append("\"")
                case "a": out.append("\u{07}")
                case "b": out.append("\u{08}")
                case "f": out.append("\u{0C}")
                case "v": out.append("\u{0B}")
                case "\n": break
                case "x", "u", "U":
                    let width = e == "x" ? 2 : (e == "u" ? 4 : 8)
                    guard i + width < source.count,
                        let code = UInt32(string(i + 1..<i + 1 + width), radix: 16), let scalar = Unicode.Scalar(code)
                    else { throw error("invalid \\\(e) escape in string", at: i - 1) }
                    out.append(scalar)
                    i += width
                case "0"..."7":
                    var code: UInt32 = 0
                    var n = 0
                    while n < 3, i < source.count, ("0"..."7").contains(source[i]) {
                        code = code * 8 + source[i].value - 48
                        i += 1
                        n += 1
                    }
                    i -= 1
                    out.append(Unicode.Scalar(code) ?? "?")
                default:
                    out.append("\\")
                    out.append(e)
                }
            } else {
                out.append(c)
            }
            i += 1
        }
        pos = i + 1
        return String(out)
    }
}

extension Unicode.Scalar {
    var isASCIIDigit: Bool { value >= 48 && value <= 57 }
}
