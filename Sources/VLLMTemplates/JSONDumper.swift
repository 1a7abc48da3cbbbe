/// Python's `json.dumps` as transformers' `tojson` filter calls it: `ensure_ascii=False` by default,
/// keys in insertion order unless `sort_keys`, optional `indent` (a number of spaces or a string), and
/// `separators` as given (default `", "`/`": "`, or `","`/`": "` when indenting).
struct JSONDumper {
    let indent: String?
    let ensureASCII: Bool
    let sortKeys: Bool
    let itemSeparator: String
    let keySeparator: String

    init(indent: Value, ensureASCII: Bool, separators: Value, sortKeys: Bool) throws {
        switch indent {
        case .none, .undefined: self.indent = nil
        case .string(let s): self.indent = s
        default:
            guard let n = indent.integer else { throw TemplateError.runtime("TypeError: indent must be an int or str") }
            self.indent = String(repeating: " ", count: max(0, n))
        }
        self.ensureASCII = ensureASCII
        self.sortKeys = sortKeys
        if case .array(let pair) = separators {
            guard pair.count == 2 else { throw TemplateError.runtime("ValueError: separators must be a pair") }
            itemSeparator = pair[0].pythonString
            keySeparator = pair[1].pythonString
        } else {
            itemSeparator = self.indent == nil ? ", " : ","
            keySeparator = ": "
        }
    }

    func dump(_ value: Value) throws -> String {
        var out = ""
        try write(value, level: 0, into: &out)
        return out
    }

    private func write(_ value: Value, level: Int, into out: inout String) throws {
        switch value.unmarked {
        case .none: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d): out += JSONDumper.float(d)
        case .string(let s): out += quote(s)
        case .array(let items):
            if items.isEmpty {
                out += "[]"
                return
            }
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += itemSeparator }
                newline(level + 1, &out)
                try write(item, level: level + 1, into: &out)
            }
            newline(level, &out)
            out += "]"
        case .dict(let dict):
            if dict.count == 0 {
                out += "{}"
                return
            }
            var pairs = try dict.pairs.map { (try key($0), $1) }
            if sortKeys { pairs.sort { Value.compareScalars($0.0, $1.0) < 0 } }
            out += "{"
            for (i, (k, v)) in pairs.enumerated() {
                if i > 0 { out += itemSeparator }
                newline(level + 1, &out)
                out += quote(k) + keySeparator
                try write(v, level: level + 1, into: &out)
            }
            newline(level, &out)
            out += "}"
        case .undefined, .function, .object, .markup:
            let typeName = value.isUndefined ? "Undefined" : value.typeName
            throw TemplateError.runtime("TypeError: Object of type \(typeName) is not JSON serializable")
        }
    }

    private func newline(_ level: Int, _ out: inout String) {
        guard let indent else { return }
        out += "\n" + String(repeating: indent, count: level)
    }

    private func key(_ value: Value) throws -> String {
        switch value.unmarked {
        case .string(let s): return s
        case .none: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return JSONDumper.float(d)
        default:
            throw TemplateError.runtime("TypeError: keys must be str, int, float, bool or None, not \(value.typeName)")
        }
    }

    static func float(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
        return Value.formatFloat(d)
    }

    private func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 || (ensureASCII && scalar.value > 0x7E) {
                    if scalar.value > 0xFFFF {
                        let v = scalar.value - 0x10000
                        out += "\\u" + Value.hex(0xD800 + (v >> 10), width: 4) + "\\u" + Value.hex(0xDC00 + (v & 0x3FF), width: 4)
                    } else {
                        out += "\\u" + Value.hex(scalar.value, width: 4)
                    }
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
