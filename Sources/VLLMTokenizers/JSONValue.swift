// A small JSON reader for tokenizer files: tokenizer.json holds up to a few hundred thousand vocabulary
// entries, and reading them straight from UTF-8 bytes keeps loading fast and errors precise.

/// A parsed JSON value, as found in tokenizer.json and tokenizer_config.json. Objects keep their members
/// in file order, keyed by exact UTF-8: Swift's `String ==` treats canonically equivalent keys ("é" and
/// "e\u{301}") as equal, but they are different vocabulary entries.
enum JSONValue: Sendable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([(key: String, value: JSONValue)])

    subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key.utf8.elementsEqual(key.utf8) }?.value
    }

    var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    var doubleValue: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    /// An integer, when the number is integral; very large numbers (model_max_length is sometimes 1e30)
    /// saturate rather than trap.
    var intValue: Int? {
        guard case .number(let value) = self, value.rounded() == value else { return nil }
        if value >= 9.2e18 { return Int.max }
        if value <= -9.2e18 { return Int.min }
        return Int(value)
    }

    var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// Object members in file order.
    var members: [(key: String, value: JSONValue)]? {
        guard case .object(let members) = self else { return nil }
        return members
    }

    static func parse(_ bytes: [UInt8], source: String) throws(TokenizerError) -> JSONValue {
        var parser = JSONParser(bytes: bytes, source: source)
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        if parser.index != bytes.count { throw parser.error("unexpected data after the JSON value") }
        return value
    }
}

/// A recursive-descent parser over UTF-8 bytes.
private struct JSONParser {
    let bytes: [UInt8]
    let source: String
    var index = 0

    init(bytes: [UInt8], source: String) {
        self.bytes = bytes
        self.source = source
    }

    func error(_ message: String) -> TokenizerError {
        var line = 1
        var column = 1
        for byte in bytes[0..<min(index, bytes.count)] {
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return .invalidJSON(file: source, message: "\(message) at line \(line), column \(column)")
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    mutating func parseValue(depth: Int) throws(TokenizerError) -> JSONValue {
        if depth > 256 { throw error("nesting deeper than 256 levels") }
        skipWhitespace()
        guard index < bytes.count else { throw error("unexpected end of input") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth)
        case UInt8(ascii: "["): return try parseArray(depth: depth)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        case UInt8(ascii: "N"):
            try expectLiteral("NaN")
            return .number(.nan)
        default: return .number(try parseNumber())
        }
    }

    mutating func expectLiteral(_ literal: String) throws(TokenizerError) {
        let expected = Array(literal.utf8)
        guard index + expected.count <= bytes.count,
            bytes[index..<(index + expected.count)].elementsEqual(expected)
        else { throw error("invalid literal") }
        index += expected.count
    }

    mutating func parseObject(depth: Int) throws(TokenizerError) -> JSONValue {
        index += 1
        var members: [(key: String, value: JSONValue)] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw error("expected a string key") }
            let key = try parseString()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':'") }
            index += 1
            let value = try parseValue(depth: depth + 1)
            members.append((key, value))
            skipWhitespace()
            guard index < bytes.count else { throw error("unterminated object") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(members)
            }
            throw error("expected ',' or '}'")
        }
    }

    mutating func parseArray(depth: Int) throws(TokenizerError) -> JSONValue {
        index += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            elements.append(try parseValue(depth: depth + 1))
            skipWhitespace()
            guard index < bytes.count else { throw error("unterminated array") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(elements)
            }
            throw error("expected ',' or ']'")
        }
    }

    /// Parses a number the way serde_json does without its `float_roundtrip` feature (as HF tokenizers
    /// builds it): the decimal significand as a u64, then one multiplication or division by a power of
    /// ten. That can differ from the correctly rounded value by an ulp, and Unigram scores compared for
    /// ties must carry exactly the bits HF sees.
    mutating func parseNumber() throws(TokenizerError) -> Double {
        let start = index
        var positive = true
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") {
            positive = false
            index += 1
        }
        func digit(_ i: Int) -> UInt64? {
            guard i < bytes.count, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9") else { return nil }
            return UInt64(bytes[i] - UInt8(ascii: "0"))
        }
        func overflows(_ significand: UInt64, _ d: UInt64) -> Bool {
            significand >= UInt64.max / 10 && (significand > UInt64.max / 10 || d > UInt64.max % 10)
        }
        guard digit(index) != nil else {
            index = start
            throw error("invalid value")
        }
        var significand: UInt64 = 0
        var exponent = 0
        var truncated = false
        while let d = digit(index) {
            if truncated || overflows(significand, d) {
                truncated = true
                exponent += 1
            } else {
                significand = significand * 10 + d
            }
            index += 1
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digit(index) != nil else { throw error("invalid number") }
            while let d = digit(index) {
                if !truncated && !overflows(significand, d) {
                    significand = significand * 10 + d
                    exponent -= 1
                } else {
                    truncated = true
                }
                index += 1
            }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            var negativeExponent = false
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                negativeExponent = bytes[index] == UInt8(ascii: "-")
                index += 1
            }
            guard digit(index) != nil else { throw error("invalid number") }
            var value = 0
            while let d = digit(index) {
                value = min(value * 10 + Int(d), 100_000)
                index += 1
            }
            exponent += negativeExponent ? -value : value
        }
        var result = Double(significand)
        var power = exponent
        while true {
            let magnitude = abs(power)
            if magnitude <= 308 {
                let scale = Self.powersOfTen[magnitude]
                result = power >= 0 ? result * scale : result / scale
                break
            }
            if result == 0 { break }
            if power >= 0 { throw error("number out of range") }
            result /= 1e308
            power += 308
        }
        return positive ? result : -result
    }

    /// 1e0 ... 1e308, each the correctly rounded double (as serde_json's table).
    static let powersOfTen: [Double] = (0...308).map { Double("1e\($0)")! }

    mutating func parseHex4() throws(TokenizerError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw error("invalid \\u escape")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    mutating func parseString() throws(TokenizerError) -> String {
        index += 1
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let text = String(decoding: bytes[start..<index], as: UTF8.self)
                index += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            index += 1
        }
        var buffer = Array(bytes[start..<index])
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return String(decoding: buffer, as: UTF8.self)
            }
            if byte != UInt8(ascii: "\\") {
                buffer.append(byte)
                index += 1
                continue
            }
            index += 1
            guard index < bytes.count else { break }
            let escape = bytes[index]
            index += 1
            switch escape {
            case UInt8(ascii: "\""): buffer.append(0x22)
            case UInt8(ascii: "\\"): buffer.append(0x5C)
            case UInt8(ascii: "/"): buffer.append(0x2F)
            case UInt8(ascii: "b"): buffer.append(0x08)
            case UInt8(ascii: "f"): buffer.append(0x0C)
            case UInt8(ascii: "n"): buffer.append(0x0A)
            case UInt8(ascii: "r"): buffer.append(0x0D)
            case UInt8(ascii: "t"): buffer.append(0x09)
            case UInt8(ascii: "u"):
                var code = try parseHex4()
                if (0xD800..<0xDC00).contains(code), index + 6 <= bytes.count, bytes[index] == UInt8(ascii: "\\"),
                    bytes[index + 1] == UInt8(ascii: "u")
                {
                    let saved = index
                    index += 2
                    let low = try parseHex4()
                    if (0xDC00..<0xE000).contains(low) {
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    } else {
                        index = saved
                    }
                }
                // A lone surrogate cannot be a Swift scalar; serde_json rejects it too.
                guard let scalar = Unicode.Scalar(code) else { throw error("lone surrogate in \\u escape") }
                buffer.append(contentsOf: Array(String(Character(scalar)).utf8))
            default:
                throw error("invalid escape")
            }
        }
        throw error("unterminated string")
    }
}
