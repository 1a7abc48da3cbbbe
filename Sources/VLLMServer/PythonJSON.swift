import VLLMGrammar
import VLLMTemplates

/// A JSON value as Python's `json` module reads and writes it, which is what vLLM's tool parsers do between a
/// model's text and a call's `arguments`: `json.loads` (strict: no control characters in strings; `NaN`,
/// `Infinity`; a repeated key keeps its first place and its last value), `JSONDecoder().raw_decode`, and
/// `json.dumps(…, ensure_ascii=False)` (`", "` and `": "`, floats as `repr` prints them, integers of any size).
/// Offsets are code points (`PyText`), as Python's.
indirect enum PythonJSON: Sendable {
    case null
    case bool(Bool)
    /// A Python `int`: any size, kept as its digits.
    case int(String)
    case float(Double)
    case string(String)
    case array([PythonJSON])
    case object([(key: String, value: PythonJSON)])

    /// `json.JSONDecodeError`; vLLM tells "Extra data" (a whole value followed by more) from the rest. And
    /// `RecursionError` (`recursion`, not a decode error: parsers that catch only those let it out), for values
    /// nested deeper than Python's stack allows.
    enum DecodeError: Error, Equatable {
        case extraData
        case invalid
        case recursion
    }

    /// Python's message for `recursion`.
    static let recursionMessage = "maximum recursion depth exceeded while decoding a JSON array from a unicode string"

    /// `json.loads(text)`.
    static func loads(_ text: ArraySlice<Unicode.Scalar>) throws(DecodeError) -> PythonJSON {
        var scanner = Scanner(text: text)
        scanner.skipWhitespace()
        let value = try scanner.value(depth: 0)
        scanner.skipWhitespace()
        guard scanner.index == text.endIndex else { throw .extraData }
        return value
    }

    static func loads(_ text: PyText) throws(DecodeError) -> PythonJSON { try loads(text[...]) }

    /// `json.JSONDecoder().raw_decode(text)`: the value that starts `text` (no whitespace before it) and the
    /// index just past it.
    static func rawDecode(_ text: ArraySlice<Unicode.Scalar>) throws(DecodeError) -> (value: PythonJSON, end: Int) {
        var scanner = Scanner(text: text)
        let value = try scanner.value(depth: 0)
        return (value, scanner.index)
    }

    /// vLLM's `is_complete_json`: whether `json.loads` takes the text; its RecursionError is let out.
    static func isComplete(_ text: ArraySlice<Unicode.Scalar>) throws(DecodeError) -> Bool {
        do {
            _ = try loads(text)
            return true
        } catch .recursion {
            throw .recursion
        } catch {
            return false
        }
    }

    subscript(key: String) -> PythonJSON? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    var stringValue: String? { if case .string(let value) = self { value } else { nil } }
    var isObject: Bool { if case .object = self { true } else { false } }
    var isNull: Bool { if case .null = self { true } else { false } }
    var isBool: Bool { if case .bool = self { true } else { false } }

    /// Python's truth value (`if value:`): empty containers, `""`, `0`, `None` and `False` are false.
    var isTruthy: Bool {
        switch self {
        case .null: false
        case .bool(let value): value
        case .int(let digits): digits != "0"
        case .float(let value): value != 0
        case .string(let value): !value.isEmpty
        case .array(let items): !items.isEmpty
        case .object(let members): !members.isEmpty
        }
    }

    /// `json.dumps(value, ensure_ascii=False)`.
    var dumped: String {
        switch self {
        case .null: "null"
        case .bool(let value): value ? "true" : "false"
        case .int(let digits): digits
        case .float(let value):
            value.isNaN ? "NaN" : value.isInfinite ? (value < 0 ? "-Infinity" : "Infinity") : pythonFloatRepr(value)
        case .string(let text): Self.quoted(text)
        case .array(let items): "[" + items.map(\.dumped).joined(separator: ", ") + "]"
        case .object(let members): "{" + members.map { Self.quoted($0.key) + ": " + $0.value.dumped }.joined(separator: ", ") + "}"
        }
    }

    /// A string as `json.dumps(…, ensure_ascii=False)` quotes it (one writer for the grammar's schemas and this).
    static func quoted(_ text: String) -> String { SchemaValue.quoted(text) }

    /// Python's C scanner (`_json.scan_once`) with `strict=True`.
    private struct Scanner {
        let text: ArraySlice<Unicode.Scalar>
        var index: Int

        init(text: ArraySlice<Unicode.Scalar>) {
            self.text = text
            index = text.startIndex
        }

        var current: Unicode.Scalar? { index < text.endIndex ? text[index] : nil }

        mutating func skipWhitespace() {
            while let c = current, c == " " || c == "\t" || c == "\n" || c == "\r" { index += 1 }
        }

        func lookingAt(_ word: String) -> Bool {
            let scalars = Array(word.unicodeScalars)
            return index + scalars.count <= text.endIndex && text[index..<(index + scalars.count)].elementsEqual(scalars)
        }

        mutating func value(depth: Int) throws(DecodeError) -> PythonJSON {
            guard depth < 1000 else { throw .recursion }
            guard let c = current else { throw .invalid }
            switch c {
            case "\"": return .string(try string())
            case "{":
                index += 1
                var members: [(key: String, value: PythonJSON)] = []
                var positions: [String: Int] = [:]  // a repeated key keeps its first place and takes the last value
                skipWhitespace()
                if current == "}" {
                    index += 1
                    return .object(members)
                }
                while true {
                    guard current == "\"" else { throw .invalid }
                    let key = try string()
                    skipWhitespace()
                    guard current == ":" else { throw .invalid }
                    index += 1
                    skipWhitespace()
                    let item = try value(depth: depth + 1)
                    if let existing = positions[key] {
                        members[existing].value = item
                    } else {
                        positions[key] = members.count
                        members.append((key, item))
                    }
                    skipWhitespace()
                    if current == "}" {
                        index += 1
                        return .object(members)
                    }
                    guard current == "," else { throw .invalid }
                    index += 1
                    skipWhitespace()
                }
            case "[":
                index += 1
                var items: [PythonJSON] = []
                skipWhitespace()
                if current == "]" {
                    index += 1
                    return .array(items)
                }
                while true {
                    items.append(try value(depth: depth + 1))
                    skipWhitespace()
                    if current == "]" {
                        index += 1
                        return .array(items)
                    }
                    guard current == "," else { throw .invalid }
                    index += 1
                    skipWhitespace()
                }
            default:
                for (word, literal) in [("null", PythonJSON.null), ("true", .bool(true)), ("false", .bool(false)),
                                        ("NaN", .float(.nan)), ("Infinity", .float(.infinity)), ("-Infinity", .float(-.infinity))]
                where lookingAt(word) {
                    index += word.unicodeScalars.count
                    return literal
                }
                return try number()
            }
        }

        /// `-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?`: an `int` without fraction or exponent, else a `float`.
        mutating func number() throws(DecodeError) -> PythonJSON {
            func isDigit(_ i: Int) -> Bool { i < text.endIndex && ("0"..."9").contains(text[i]) }
            let start = index
            var i = index
            if i < text.endIndex && text[i] == "-" { i += 1 }
            guard isDigit(i) else { throw .invalid }
            if text[i] == "0" { i += 1 } else { while isDigit(i) { i += 1 } }
            var isFloat = false
            if i < text.endIndex, text[i] == ".", isDigit(i + 1) {
                i += 1
                while isDigit(i) { i += 1 }
                isFloat = true
            }
            if i < text.endIndex, text[i] == "e" || text[i] == "E" {
                var j = i + 1
                if j < text.endIndex, text[j] == "+" || text[j] == "-" { j += 1 }
                if isDigit(j) {
                    while isDigit(j) { j += 1 }
                    i = j
                    isFloat = true
                }
            }
            index = i
            let literal = PyText(text[start..<i]).string
            if isFloat { return .float(Double(literal) ?? .nan) }
            return .int(literal == "-0" ? "0" : literal)
        }

        mutating func string() throws(DecodeError) -> String {
            index += 1
            var scalars = String.UnicodeScalarView()
            while true {
                guard let c = current else { throw .invalid }
                index += 1
                if c == "\"" { return String(scalars) }
                if c.value < 0x20 { throw .invalid }
                guard c == "\\" else {
                    scalars.append(c)
                    continue
                }
                guard let escaped = current else { throw .invalid }
                index += 1
                switch escaped {
                case "\"", "\\", "/": scalars.append(escaped)
                case "b": scalars.append("\u{08}")
                case "f": scalars.append("\u{0C}")
                case "n": scalars.append("\n")
                case "r": scalars.append("\r")
                case "t": scalars.append("\t")
                case "u":
                    var code = try hex4()
                    if (0xD800..<0xDC00).contains(code), lookingAt("\\u") {
                        let mark = index
                        index += 2
                        let low = try hex4()
                        if (0xDC00..<0xE000).contains(low) {
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            index = mark
                        }
                    }
                    // A lone surrogate (Python keeps it; a Swift string cannot) becomes U+FFFD.
                    scalars.append(Unicode.Scalar(code) ?? "\u{FFFD}")
                default: throw .invalid
                }
            }
        }

        mutating func hex4() throws(DecodeError) -> UInt32 {
            guard index + 4 <= text.endIndex,
                  let value = UInt32(PyText(text[index..<(index + 4)]).string, radix: 16),
                  text[index..<(index + 4)].allSatisfy(\.properties.isASCIIHexDigit)
            else { throw .invalid }
            index += 4
            return value
        }
    }
}
