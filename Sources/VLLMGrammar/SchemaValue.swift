import Foundation

/// A JSON value with its object keys in their written order (a schema's `properties` order is the order
/// the output must follow) and its numbers' own text (an `enum` value is matched as it was written).
public indirect enum SchemaValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([SchemaValue])
    case object([(key: String, value: SchemaValue)])

    public static func == (lhs: SchemaValue, rhs: SchemaValue) -> Bool { lhs.compactJSON == rhs.compactJSON }
    public func hash(into hasher: inout Hasher) { hasher.combine(compactJSON) }

    public subscript(key: String) -> SchemaValue? {
        guard case .object(let members) = self else { return nil }
        return members.last(where: { $0.key == key })?.value
    }

    public enum PathComponent: Sendable { case key(String), index(Int) }

    /// The value at `path` (object keys, array indices), or nil where there is none.
    public func value(at path: [PathComponent]) -> SchemaValue? {
        var current = self
        for component in path {
            switch component {
            case .key(let key): guard let next = current[key] else { return nil }; current = next
            case .index(let index):
                guard let items = current.arrayValue, items.indices.contains(index) else { return nil }
                current = items[index]
            }
        }
        return current
    }

    var stringValue: String? { if case .string(let value) = self { value } else { nil } }
    public var arrayValue: [SchemaValue]? { if case .array(let value) = self { value } else { nil } }
    var numberValue: Double? { if case .number(let text) = self { Double(text) } else { nil } }
    var isObject: Bool { if case .object = self { true } else { false } }

    /// JSON without spaces (Python's `json.dumps(…, separators=(",", ":"))`), as the output must spell
    /// an `enum` or `const` value.
    public var compactJSON: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .number(let text): return Self.canonicalNumber(text)
        case .string(let text): return Self.quoted(text)
        case .array(let items): return "[" + items.map(\.compactJSON).joined(separator: ",") + "]"
        case .object(let members):
            return "{" + members.map { Self.quoted($0.key) + ":" + $0.value.compactJSON }.joined(separator: ",") + "}"
        }
    }

    /// A number as xgrammar writes it back: integral values without a fraction (`2.0` → `2`), others in
    /// their shortest form with a two-digit exponent (`1e+20`, `1.5e-07`).
    static func canonicalNumber(_ text: String) -> String {
        guard let value = Double(text) else { return text }
        if value.rounded() == value && abs(value) < 1e16 {
            return value == 0 && text.hasPrefix("-") ? "-0" : String(Int64(value))
        }
        return "\(value)"
    }

    /// JSON as Python's `json.dumps(value, ensure_ascii=False)` writes it: `", "` and `": "` between items,
    /// numbers as Python prints the float or int they parse to.
    public var pythonJSON: String {
        switch self {
        case .null, .bool, .string: return compactJSON
        case .number(let text):
            if Int(text) != nil { return String(Int(text)!) }
            guard let value = Double(text) else { return text }
            if value.isInfinite { return value > 0 ? "Infinity" : "-Infinity" }
            return value.rounded() == value && abs(value) < 1e16 ? String(format: "%.1f", value) : "\(value)"
        case .array(let items): return "[" + items.map(\.pythonJSON).joined(separator: ", ") + "]"
        case .object(let members):
            return "{" + members.map { Self.quoted($0.key) + ": " + $0.value.pythonJSON }.joined(separator: ", ") + "}"
        }
    }

    /// A string as Python's `json.dumps(…, ensure_ascii=False)` quotes it: only `"`, `\` and control characters escaped.
    public static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case "\u{08}": result += "\\b"
            case "\u{0C}": result += "\\f"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }

    /// Parses JSON text; the error names the offset.
    public static func parse(_ text: String) throws(GrammarError) -> SchemaValue {
        var parser = Parser(bytes: Array(text.utf8))
        parser.skipSpace()
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.index == parser.bytes.count else { throw parser.error("unexpected text after the JSON value") }
        return value
    }

    /// Python's `json.JSONDecoder().raw_decode`: the JSON value at the very start of `bytes` (no leading
    /// whitespace) and the count of bytes it took; what follows is left alone.
    public static func parsePrefix(_ bytes: ArraySlice<UInt8>) throws(GrammarError) -> (value: SchemaValue, count: Int) {
        var parser = Parser(bytes: Array(bytes))
        let value = try parser.value(depth: 0)
        return (value, parser.index)
    }

    private struct Parser {
        let bytes: [UInt8]
        var index = 0

        func error(_ message: String) -> GrammarError { GrammarError("invalid JSON at byte \(index): \(message)") }

        mutating func skipSpace() {
            while index < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[index]) { index += 1 }
        }

        mutating func literal(_ word: String, _ value: SchemaValue) throws(GrammarError) -> SchemaValue {
            let utf8 = Array(word.utf8)
            guard index + utf8.count <= bytes.count, Array(bytes[index..<(index + utf8.count)]) == utf8 else {
                throw error("expected '\(word)'")
            }
            index += utf8.count
            return value
        }

        mutating func value(depth: Int) throws(GrammarError) -> SchemaValue {
            guard depth < 512 else { throw error("nested too deeply") }
            guard index < bytes.count else { throw error("unexpected end") }
            switch bytes[index] {
            case UInt8(ascii: "n"): return try literal("null", .null)
            case UInt8(ascii: "t"): return try literal("true", .bool(true))
            case UInt8(ascii: "f"): return try literal("false", .bool(false))
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "["):
                index += 1
                var items: [SchemaValue] = []
                skipSpace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                    index += 1
                    return .array(items)
                }
                while true {
                    skipSpace()
                    items.append(try value(depth: depth + 1))
                    skipSpace()
                    guard index < bytes.count else { throw error("unterminated array") }
                    if bytes[index] == UInt8(ascii: ",") {
                        index += 1
                    } else if bytes[index] == UInt8(ascii: "]") {
                        index += 1
                        return .array(items)
                    } else {
                        throw error("expected ',' or ']'")
                    }
                }
            case UInt8(ascii: "{"):
                index += 1
                var members: [(key: String, value: SchemaValue)] = []
                skipSpace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                    index += 1
                    return .object(members)
                }
                while true {
                    skipSpace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw error("expected a key") }
                    let key = try string()
                    skipSpace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':'") }
                    index += 1
                    skipSpace()
                    members.append((key, try value(depth: depth + 1)))
                    skipSpace()
                    guard index < bytes.count else { throw error("unterminated object") }
                    if bytes[index] == UInt8(ascii: ",") {
                        index += 1
                    } else if bytes[index] == UInt8(ascii: "}") {
                        index += 1
                        return .object(members)
                    } else {
                        throw error("expected ',' or '}'")
                    }
                }
            default:
                let start = index
                if bytes[index] == UInt8(ascii: "-") { index += 1 }
                while index < bytes.count,
                    (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index])
                        || [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"), UInt8(ascii: "+"), UInt8(ascii: "-")]
                        .contains(bytes[index])
                {
                    index += 1
                }
                let text = String(decoding: bytes[start..<index], as: UTF8.self)
                guard !text.isEmpty, Double(text) != nil else { throw error("expected a value") }
                return .number(text)
            }
        }

        mutating func string() throws(GrammarError) -> String {
            index += 1
            var scalars = String.UnicodeScalarView()
            var raw: [UInt8] = []
            func flush() {
                if !raw.isEmpty {
                    scalars.append(contentsOf: String(decoding: raw, as: UTF8.self).unicodeScalars)
                    raw.removeAll()
                }
            }
            while true {
                guard index < bytes.count else { throw error("unterminated string") }
                let byte = bytes[index]
                index += 1
                if byte == UInt8(ascii: "\"") { break }
                guard byte == UInt8(ascii: "\\") else {
                    raw.append(byte)
                    continue
                }
                flush()
                guard index < bytes.count else { throw error("unterminated escape") }
                let escaped = bytes[index]
                index += 1
                switch escaped {
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "t"): scalars.append("\t")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "b"): scalars.append("\u{08}")
                case UInt8(ascii: "f"): scalars.append("\u{0C}")
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xD800..<0xDC00).contains(code), index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
                        bytes[index + 1] == UInt8(ascii: "u")
                    {
                        index += 2
                        let low = try hex4()
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    scalars.append(Unicode.Scalar(code) ?? "\u{FFFD}")
                default: scalars.append(Unicode.Scalar(escaped))
                }
            }
            flush()
            return String(scalars)
        }

        mutating func hex4() throws(GrammarError) -> UInt32 {
            guard index + 4 <= bytes.count, let value = UInt32(String(decoding: bytes[index..<(index + 4)], as: UTF8.self), radix: 16)
            else { throw error("expected four hexadecimal digits") }
            index += 4
            return value
        }
    }
}
