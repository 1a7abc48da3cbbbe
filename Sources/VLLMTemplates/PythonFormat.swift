import Foundation

/// Python's two string-formatting mini-languages: `"%s" % args` (and jinja2's `|format`) and `str.format`.
enum PythonFormat {
    /// `format % operand`. A list operand stands for Python's tuple (templates write `(a, b)`).
    static func percent(_ format: String, _ operand: Value, argumentsAreTuple: Bool = true) throws -> String {
        var arguments: [Value]
        if argumentsAreTuple, case .array(let items) = operand { arguments = items } else { arguments = [operand] }
        let mapping: PyDict? = { if case .dict(let d) = operand { return d } else { return nil } }()
        var out = ""
        var scalars = Array(format.unicodeScalars)[...]
        var nextArgument = 0
        while let c = scalars.popFirst() {
            guard c == "%" else {
                out.unicodeScalars.append(c)
                continue
            }
            var value: Value?
            if scalars.first == "(" {
                scalars.removeFirst()
                var key = ""
                while let k = scalars.popFirst(), k != ")" { key.unicodeScalars.append(k) }
                guard let mapping else { throw TemplateError.runtime("TypeError: format requires a mapping") }
                guard let found = mapping[string: key] else { throw TemplateError.runtime("KeyError: '\(key)'") }
                value = found
            }
            var flags = ""
            while let f = scalars.first, "-+ #0".unicodeScalars.contains(f) {
                flags.unicodeScalars.append(f)
                scalars.removeFirst()
            }
            var width = ""
            while let d = scalars.first, ("0"..."9").contains(d) {
                width.unicodeScalars.append(d)
                scalars.removeFirst()
            }
            var precision: String?
            if scalars.first == "." {
                scalars.removeFirst()
                var p = ""
                while let d = scalars.first, ("0"..."9").contains(d) {
                    p.unicodeScalars.append(d)
                    scalars.removeFirst()
                }
                precision = p
            }
            guard let type = scalars.popFirst() else { throw TemplateError.runtime("ValueError: incomplete format") }
            if type == "%" {
                out += "%"
                continue
            }
            if value == nil {
                guard nextArgument < arguments.count else {
                    throw TemplateError.runtime("TypeError: not enough arguments for format string")
                }
                value = arguments[nextArgument]
                nextArgument += 1
            }
            out += try formatOne(value!, type: Character(type), flags: flags, width: width, precision: precision)
        }
        if mapping == nil, nextArgument < arguments.count {
            throw TemplateError.runtime("TypeError: not all arguments converted during string formatting")
        }
        return out
    }

    static func formatOne(_ value: Value, type: Character, flags: String, width: String, precision: String?) throws
        -> String
    {
        var body: String
        switch type {
        case "s": body = value.pythonString
        case "r", "a": body = value.pythonRepr
        case "d", "i", "u":
            guard let n = value.number else { throw TemplateError.runtime("TypeError: %\(type) format: a real number is required, not \(value.typeName)") }
            body = String(format: "%" + flags.filter { "+ ".contains($0) } + "ld", Int(n))
        case "f", "F", "e", "E", "g", "G":
            guard let n = value.number else { throw TemplateError.runtime("TypeError: must be real number, not \(value.typeName)") }
            body = String(format: "%" + flags.filter { "+ #".contains($0) } + "." + (precision ?? "6") + String(type), n)
        case "x", "X", "o":
            guard let n = value.integer else { throw TemplateError.runtime("TypeError: %\(type) format: an integer is required, not \(value.typeName)") }
            body = String(format: "%" + flags.filter { "#".contains($0) } + "l" + String(type), n)
        case "c":
            if let n = value.integer, let scalar = Unicode.Scalar(UInt32(max(0, n))) { body = String(scalar) } else { body = value.pythonString }
        default:
            throw TemplateError.runtime("ValueError: unsupported format character '\(type)'")
        }
        if let precision, type == "s" || type == "r", let p = Int(precision) {
            body = PyString.make(body.unicodeScalars.prefix(p))
        }
        let target = Int(width) ?? 0
        let length = body.unicodeScalars.count
        if target > length {
            let padding = target - length
            if flags.contains("-") {
                body += String(repeating: " ", count: padding)
            } else if flags.contains("0") && "dfFeEgGxXo".contains(type) {
                let signed = body.hasPrefix("-") || body.hasPrefix("+")
                body = signed
                    ? String(body.prefix(1)) + String(repeating: "0", count: padding) + body.dropFirst()
                    : String(repeating: "0", count: padding) + body
            } else {
                body = String(repeating: " ", count: padding) + body
            }
        }
        return body
    }

    /// `str.format(*args, **kwargs)` with `{}`, `{0}`, `{name}`, `{name.attr}`, `{0[key]}`, `!r`/`!s` and a
    /// format spec of `[[fill]align][sign][0][width][,][.precision][type]`.
    static func format(_ format: String, _ arguments: Arguments) throws -> String {
        var out = ""
        var scalars = Array(format.unicodeScalars)[...]
        var automatic = 0
        while let c = scalars.popFirst() {
            if c == "}" {
                guard scalars.popFirst() == "}" else { throw TemplateError.runtime("ValueError: Single '}' encountered in format string") }
                out += "}"
                continue
            }
            guard c == "{" else {
                out.unicodeScalars.append(c)
                continue
            }
            if scalars.first == "{" {
                scalars.removeFirst()
                out += "{"
                continue
            }
            var field = ""
            var depth = 0
            while true {
                guard let f = scalars.popFirst() else { throw TemplateError.runtime("ValueError: expected '}' before end of string") }
                if f == "{" { depth += 1 }
                if f == "}" {
                    if depth == 0 { break }
                    depth -= 1
                }
                field.unicodeScalars.append(f)
            }
            var spec = ""
            var conversion: Character?
            if let colon = field.firstIndex(of: ":") {
                spec = String(field[field.index(after: colon)...])
                field = String(field[..<colon])
            }
            if let bang = field.firstIndex(of: "!") {
                conversion = field[field.index(after: bang)...].first
                field = String(field[..<bang])
            }
            var value = try resolveField(field, arguments, &automatic)
            if conversion == "r" { value = .string(value.pythonRepr) } else if conversion == "s" { value = .string(value.pythonString) }
            out += try applySpec(value, spec)
        }
        return out
    }

    static func resolveField(_ field: String, _ arguments: Arguments, _ automatic: inout Int) throws -> Value {
        var rest = Substring(field)
        let head = rest.prefix { $0 != "." && $0 != "[" }
        rest = rest.dropFirst(head.count)
        var value: Value
        if head.isEmpty {
            guard automatic < arguments.positional.count else { throw TemplateError.runtime("IndexError: Replacement index \(automatic) out of range for positional args tuple") }
            value = arguments.positional[automatic]
            automatic += 1
        } else if let i = Int(head) {
            guard i < arguments.positional.count else { throw TemplateError.runtime("IndexError: Replacement index \(i) out of range for positional args tuple") }
            value = arguments.positional[i]
        } else {
            guard let found = arguments.keyword.first(where: { $0.0 == head })?.1 else { throw TemplateError.runtime("KeyError: '\(head)'") }
            value = found
        }
        while let first = rest.first {
            rest = rest.dropFirst()
            if first == "." {
                let name = rest.prefix { $0 != "." && $0 != "[" }
                rest = rest.dropFirst(name.count)
                guard case .dict(let d) = value, let v = d[string: String(name)] else {
                    throw TemplateError.runtime("AttributeError: '\(value.typeName)' object has no attribute '\(name)'")
                }
                value = v
            } else {
                let key = rest.prefix { $0 != "]" }
                rest = rest.dropFirst(key.count + 1)
                let index: Value = Int(key).map(Value.int) ?? .string(String(key))
                switch (value, index) {
                case (.dict(let d), _): guard let v = d[index] else { throw TemplateError.runtime("KeyError: \(index.pythonRepr)") }
                    value = v
                case (.array(let a), .int(let i)): guard let v = Value.element(a, i) else { throw TemplateError.runtime("IndexError: list index out of range") }
                    value = v
                default: throw TemplateError.runtime("TypeError: '\(value.typeName)' object is not subscriptable")
                }
            }
        }
        return value
    }

    static func applySpec(_ value: Value, _ spec: String) throws -> String {
        if spec.isEmpty { return value.pythonString }
        var s = Array(spec)[...]
        var fill: Character = " "
        var align: Character?
        if s.count >= 2, "<>^=".contains(s[s.startIndex + 1]) {
            fill = s.removeFirst()
            align = s.removeFirst()
        } else if let first = s.first, "<>^=".contains(first) {
            align = s.removeFirst()
        }
        var sign = ""
        if let first = s.first, "+- ".contains(first) { sign = String(s.removeFirst()) }
        if s.first == "0" {
            s.removeFirst()
            if align == nil {
                fill = "0"
                align = "="
            }
        }
        var width = ""
        while let d = s.first, d.isASCII, d.isNumber { width.append(s.removeFirst()) }
        var grouping = false
        if s.first == "," {
            grouping = true
            s.removeFirst()
        }
        var precision: String?
        if s.first == "." {
            s.removeFirst()
            var p = ""
            while let d = s.first, d.isASCII, d.isNumber { p.append(s.removeFirst()) }
            precision = p
        }
        let type = s.first
        var body: String
        let isNumber = value.number != nil && !value.isString
        switch type {
        case "d":
            guard let i = value.integer else { throw TemplateError.runtime("ValueError: Unknown format code 'd' for object of type '\(value.typeName)'") }
            body = String(abs(i))
            if grouping { body = group(body) }
            body = (i < 0 ? "-" : (sign == "+" ? "+" : sign == " " ? " " : "")) + body
        case "f", "F", "e", "E", "g", "G", "%":
            guard let n = value.number else { throw TemplateError.runtime("ValueError: Unknown format code '\(type!)' for object of type '\(value.typeName)'") }
            let p = precision ?? "6"
            body = type == "%" ? String(format: "%.\(p)f", n * 100) + "%" : String(format: "%.\(p)\(type!)", n)
            if sign == "+" && n >= 0 { body = "+" + body } else if sign == " " && n >= 0 { body = " " + body }
        case "x", "X", "o", "b":
            guard let i = value.integer else { throw TemplateError.runtime("ValueError: Unknown format code '\(type!)' for object of type '\(value.typeName)'") }
            let radix = type == "o" ? 8 : type == "b" ? 2 : 16
            body = String(i, radix: radix, uppercase: type == "X")
        default:
            if isNumber, precision != nil, let n = value.number, !(value.integer != nil && value.number == nil) {
                body = String(format: "%.\(precision!)g", n)
            } else {
                body = value.pythonString
                if let precision, let p = Int(precision) { body = PyString.make(body.unicodeScalars.prefix(p)) }
            }
        }
        let target = Int(width) ?? 0
        let length = body.unicodeScalars.count
        guard target > length else { return body }
        let padding = String(repeating: fill, count: target - length)
        switch align ?? (isNumber ? ">" : "<") {
        case "<": return body + padding
        case "^":
            let left = (target - length) / 2
            return String(repeating: fill, count: left) + body + String(repeating: fill, count: target - length - left)
        case "=":
            if body.hasPrefix("-") || body.hasPrefix("+") { return String(body.prefix(1)) + padding + body.dropFirst() }
            return padding + body
        default: return padding + body
        }
    }

    static func group(_ digits: String) -> String {
        var out = ""
        for (i, c) in digits.reversed().enumerated() {
            if i > 0 && i % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return String(out.reversed())
    }
}
