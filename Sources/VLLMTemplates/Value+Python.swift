import Foundation

/// Python's printing, truthiness, equality and ordering, which templates observe byte for byte.
extension Value {
    /// Python `str(x)`: what `{{ x }}` prints.
    var pythonString: String {
        switch self {
        case .undefined: ""
        case .string(let s), .markup(let s): s
        default: pythonRepr
        }
    }

    /// Python `repr(x)`: how items print inside a printed list or dict.
    var pythonRepr: String {
        switch self {
        case .undefined: "Undefined"
        case .none: "None"
        case .bool(let b): b ? "True" : "False"
        case .int(let i): String(i)
        case .double(let d): Value.formatFloat(d)
        case .string(let s): Value.reprString(s)
        case .markup(let s): "Markup(" + Value.reprString(s) + ")"
        case .array(let items): "[" + items.map(\.pythonRepr).joined(separator: ", ") + "]"
        case .dict(let dict):
            "{" + dict.pairs.map { $0.pythonRepr + ": " + $1.pythonRepr }.joined(separator: ", ") + "}"
        case .function(let f): "<function \(f.name)>"
        case .object(let o): o.pythonRepr
        }
    }

    /// Python `float.__repr__`: the shortest round-tripping digits, exponent form below 1e-4 and from 1e16.
    static func formatFloat(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        // Swift's description also prints the shortest round-trip digits; only the layout differs.
        let text = "\(d)"
        let negative = text.hasPrefix("-")
        let body = negative ? String(text.dropFirst()) : text
        var mantissa = body
        var exponent = 0
        if let e = body.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = String(body[..<e])
            exponent = Int(body[body.index(after: e)...]) ?? 0
        }
        let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false)
        let intPart = String(parts[0])
        let fracPart = parts.count > 1 ? String(parts[1]) : ""
        var digits = intPart + fracPart
        var pointPosition = intPart.count + exponent  // digits before the decimal point
        let leadingZeros = digits.prefix(while: { $0 == "0" }).count
        if leadingZeros == digits.count { return negative ? "-0.0" : "0.0" }
        digits.removeFirst(leadingZeros)
        pointPosition -= leadingZeros
        while digits.count > 1 && digits.hasSuffix("0") { digits.removeLast() }
        let decimalExponent = pointPosition - 1
        var out: String
        if decimalExponent < -4 || decimalExponent >= 16 {
            out = String(digits.first!)
            if digits.count > 1 { out += "." + digits.dropFirst() }
            let sign = decimalExponent < 0 ? "-" : "+"
            let magnitude = abs(decimalExponent)
            out += "e" + sign + (magnitude < 10 ? "0" : "") + String(magnitude)
        } else if pointPosition <= 0 {
            out = "0." + String(repeating: "0", count: -pointPosition) + digits
        } else if pointPosition >= digits.count {
            out = digits + String(repeating: "0", count: pointPosition - digits.count) + ".0"
        } else {
            let split = digits.index(digits.startIndex, offsetBy: pointPosition)
            out = digits[..<split] + "." + digits[split...]
        }
        return negative ? "-" + out : out
    }

    /// Python's `repr(str)`: single quotes unless the text has a single quote and no double quote.
    static func reprString(_ s: String) -> String {
        let quote: Character = (s.contains("'") && !s.contains("\"")) ? "\"" : "'"
        var out = String(quote)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if Character(scalar) == quote {
                    out += "\\" + String(quote)
                } else if isPrintable(scalar) {
                    out.unicodeScalars.append(scalar)
                } else if scalar.value < 0x100 {
                    out += "\\x" + hex(scalar.value, width: 2)
                } else if scalar.value < 0x10000 {
                    out += "\\u" + hex(scalar.value, width: 4)
                } else {
                    out += "\\U" + hex(scalar.value, width: 8)
                }
            }
        }
        out.append(quote)
        return out
    }

    static func hex(_ value: UInt32, width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// Python's `str.isprintable` for one character.
    static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == " " { return true }
        switch scalar.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator,
            .spaceSeparator:
            return false
        default:
            return true
        }
    }

    /// Python truthiness.
    var isTruthy: Bool {
        switch self {
        case .undefined, .none: false
        case .bool(let b): b
        case .int(let i): i != 0
        case .double(let d): d != 0
        case .string(let s), .markup(let s): !s.isEmpty
        case .array(let a): !a.isEmpty
        case .dict(let d): d.count > 0
        case .function, .object: true
        }
    }

    var isUndefined: Bool {
        if case .undefined = self { return true }
        return false
    }

    /// Python's `type(x).__name__`, for error messages.
    var typeName: String {
        switch self {
        case .undefined: "Undefined"
        case .none: "NoneType"
        case .bool: "bool"
        case .int: "int"
        case .double: "float"
        case .string: "str"
        case .markup: "Markup"
        case .array: "list"
        case .dict: "dict"
        case .function: "function"
        case .object(let o): o.typeName
        }
    }

    /// Numeric view (bool is an int in Python).
    var number: Double? {
        switch self {
        case .bool(let b): b ? 1 : 0
        case .int(let i): Double(i)
        case .double(let d): d
        default: nil
        }
    }

    /// Integer view for ints and bools.
    var integer: Int? {
        switch self {
        case .bool(let b): b ? 1 : 0
        case .int(let i): i
        default: nil
        }
    }

    /// Python `==`.
    func pyEquals(_ other: Value) -> Bool {
        switch (unmarked, other.unmarked) {
        case (.undefined, .undefined), (.none, .none): return true
        case (.string(let a), .string(let b)): return a == b
        case (.array(let a), .array(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.pyEquals($1) }
        case (.dict(let a), .dict(let b)):
            guard a.count == b.count else { return false }
            return a.pairs.allSatisfy { key, value in b[key].map { value.pyEquals($0) } ?? false }
        case (.function(let a), .function(let b)): return a === b
        case (.object(let a), .object(let b)): return a === b
        default:
            if let x = integer, let y = other.integer { return x == y }
            if let x = number, let y = other.number { return x == y }
            return false
        }
    }

    /// Python's `<`-family ordering; a TypeError where Python has none.
    func pyCompare(_ other: Value, _ op: String) throws -> Int {
        switch (unmarked, other.unmarked) {
        case (.string(let a), .string(let b)):
            return Value.compareScalars(a, b)
        case (.array(let a), .array(let b)):
            for (x, y) in zip(a, b) where !x.pyEquals(y) { return try x.pyCompare(y, op) }
            return a.count < b.count ? -1 : (a.count > b.count ? 1 : 0)
        default:
            if let x = integer, let y = other.integer { return x < y ? -1 : (x > y ? 1 : 0) }
            if let x = number, let y = other.number { return x < y ? -1 : (x > y ? 1 : 0) }
            if case .undefined(let u) = self { throw u.error }
            if case .undefined(let u) = other { throw u.error }
            throw TemplateError.runtime(
                "TypeError: '\(op)' not supported between instances of '\(typeName)' and '\(other.typeName)'")
        }
    }

    /// Python compares strings by code point, which is not Swift's `<` on String.
    static func compareScalars(_ a: String, _ b: String) -> Int {
        var left = a.unicodeScalars.makeIterator()
        var right = b.unicodeScalars.makeIterator()
        while true {
            switch (left.next(), right.next()) {
            case (nil, nil): return 0
            case (nil, _): return -1
            case (_, nil): return 1
            case (let x?, let y?): if x != y { return x.value < y.value ? -1 : 1 }
            }
        }
    }
}

extension Character {
    /// Python's `str.isspace` for one character (what `\s` and `strip()` use).
    var isPythonSpace: Bool { unicodeScalars.allSatisfy(\.isPythonSpace) }
}

/// Python's `repr(float)` for finite values, for other modules that write numbers as Python does (the server's
/// `json.dumps` of tool-call arguments).
public func pythonFloatRepr(_ value: Double) -> String { Value.formatFloat(value) }

extension Unicode.Scalar {
    /// Python's `str.isspace()` for one code point (what `str.strip()` drops).
    public var isPythonSpace: Bool {
        switch value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            true
        default: false
        }
    }
}
