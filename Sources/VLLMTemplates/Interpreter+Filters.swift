import Foundation

/// jinja2's built-in filters, with transformers' `tojson` in place of jinja2's.
extension Interpreter {
    static let filterNames: Set<String> = [
        "abs", "attr", "batch", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape", "first",
        "float", "forceescape", "format", "indent", "int", "items", "join", "last", "length", "list", "lower", "map",
        "max", "min", "reject", "rejectattr", "replace", "reverse", "round", "safe", "select", "selectattr", "sort",
        "string", "striptags", "sum", "title", "tojson", "trim", "truncate", "unique", "upper", "wordcount",
    ]

    func applyFilter(_ filter: FilterCall, _ value: Value, _ scope: Scope) throws -> Value {
        try applyFilter(filter.name, value, try evaluateArguments(filter.arguments, scope))
    }

    func applyFilter(_ name: String, _ markedValue: Value, _ arguments: Arguments) throws -> Value {
        if name == "safe" { return .markup(markedValue.pythonString) }
        if case .markup = markedValue, ["escape", "e", "string"].contains(name) { return markedValue }
        let value = markedValue.unmarked
        func bind(_ names: [String], _ defaults: [Value?]) throws -> [Value] {
            try arguments.bind(name, names, defaults: defaults)
        }
        switch name {
        case "tojson":
            let a = try bind(["ensure_ascii", "indent", "separators", "sort_keys"], [.bool(false), Value.none, Value.none, .bool(false)])
            return .string(try JSONDumper(indent: a[1], ensureASCII: a[0].isTruthy, separators: a[2], sortKeys: a[3].isTruthy).dump(value))
        case "trim":
            let chars = try bind(["chars"], [Value.none])[0]
            return .string(PyString.strip(value.pythonString, chars.isNone ? nil : chars.pythonString, left: true, right: true))
        case "length", "count":
            return .int(try length(value))
        case "lower": return .string(value.pythonString.lowercased())
        case "upper": return .string(value.pythonString.uppercased())
        case "title": return .string(Interpreter.jinjaTitle(value.pythonString))
        case "capitalize": return .string(PyString.capitalize(value.pythonString))
        case "replace":
            let a = try bind(["old", "new", "count"], [nil, nil, Value.none])
            return .string(PyString.replace(value.pythonString, a[0].pythonString, a[1].pythonString, count: a[2].integer ?? -1))
        case "join":
            let a = try bind(["d", "attribute"], [.emptyString, Value.none])
            var items = try iterate(value)
            if !a[1].isNone { items = try items.map { try attributePath($0, a[1]) } }
            return .string(items.map(\.pythonString).joined(separator: a[0].pythonString))
        case "default", "d":
            let a = try bind(["default_value", "boolean"], [.emptyString, .bool(false)])
            if value.isUndefined || (a[1].isTruthy && !value.isTruthy) { return a[0] }
            return value
        case "first":
            return try iterate(value).first ?? .undefined("No first item, sequence was empty.")
        case "last":
            if case .object(let object) = value {
                throw TemplateError.runtime("TypeError: '\(object.typeName)' object is not reversible")
            }
            return try iterate(value).last ?? .undefined("No last item, sequence was empty.")
        case "list": return .array(try iterate(value))
        case "reverse":
            switch value {
            case .string(let s): return .string(PyString.make(s.unicodeScalars.reversed()))
            case .array(let items): return .generator(items.reversed(), "list_reverseiterator")
            case .dict(let dict): return .generator(dict.keys.reversed(), "dict_reversekeyiterator")
            default: return .array(try iterate(value).reversed())
            }
        case "map": return .generator(value.isTruthy ? try map(value, arguments) : [])
        case "select", "reject":
            // jinja2 yields nothing for a falsy input (None included) without looking at it.
            guard value.isTruthy else { return .generator([]) }
            return .generator(try select(value, arguments, attribute: false, keep: name == "select"))
        case "selectattr", "rejectattr":
            guard value.isTruthy else { return .generator([]) }
            return .generator(try select(value, arguments, attribute: true, keep: name == "selectattr"))
        case "items":
            switch value {
            case .undefined: return .generator([])
            case .dict(let dict): return .generator(dict.pairs.map { .array([$0, $1]) })
            default: throw TemplateError.runtime("TypeError: Can only get item pairs from a mapping.")
            }
        case "dictsort":
            let a = try bind(["case_sensitive", "by", "reverse"], [.bool(false), .string("key"), .bool(false)])
            guard case .dict(let dict) = value else {
                throw TemplateError.runtime("TypeError: dictsort requires a mapping")
            }
            let byValue = a[1].pythonString == "value"
            let pairs = try stableSort(dict.pairs.map { Value.array([$0, $1]) }, reverse: a[2].isTruthy) { pair in
                guard case .array(let kv) = pair else { return pair }
                let key = byValue ? kv[1] : kv[0]
                return a[0].isTruthy ? key : Interpreter.ignoreCase(key)
            }
            return .array(pairs)
        case "sort":
            let a = try bind(["reverse", "case_sensitive", "attribute"], [.bool(false), .bool(false), Value.none])
            // jinja2 sorts by a list of keys (one per comma-separated attribute), so equal items never
            // reach Python's `<` (which is why `[None, None]|sort` works).
            let paths: [Value] = a[2].isNone
                ? [] : a[2].pythonString.split(separator: ",").map { .string(String($0)) }
            return .array(try stableSort(try iterate(value), reverse: a[0].isTruthy) { item in
                let keys = paths.isEmpty ? [item] : try paths.map { try self.attributePath(item, $0) }
                return .array(a[1].isTruthy ? keys : keys.map(Interpreter.ignoreCase))
            })
        case "unique":
            let a = try bind(["case_sensitive", "attribute"], [.bool(false), Value.none])
            var seen: [Value] = []
            var result: [Value] = []
            for item in try iterate(value) {
                var key = a[1].isNone ? item : try attributePath(item, a[1])
                if !a[0].isTruthy { key = Interpreter.ignoreCase(key) }
                if !seen.contains(where: { $0.pyEquals(key) }) {
                    seen.append(key)
                    result.append(item)
                }
            }
            return .generator(result)
        case "min", "max":
            let a = try bind(["case_sensitive", "attribute"], [.bool(false), Value.none])
            let items = try iterate(value)
            guard !items.isEmpty else { return .undefined("No aggregated item, sequence was empty.") }
            let sorted = try stableSort(items, reverse: false) { item in
                let key = a[1].isNone ? item : try self.attributePath(item, a[1])
                return a[0].isTruthy ? key : Interpreter.ignoreCase(key)
            }
            return name == "min" ? sorted.first! : sorted.last!
        case "sum":
            let a = try bind(["attribute", "start"], [Value.none, .int(0)])
            var total = a[1]
            for item in try iterate(value) {
                total = try binary("+", total, a[0].isNone ? item : try attributePath(item, a[0]))
            }
            return total
        case "string": return .string(value.pythonString)
        case "safe", "e", "escape", "forceescape":
            return .markup(Interpreter.escapeHTML(value.pythonString))
        case "int":
            let a = try bind(["default", "base"], [.int(0), .int(10)])
            return Interpreter.toInt(value, base: a[1].integer ?? 10) ?? a[0]
        case "float":
            let a = try bind(["default"], [.double(0)])
            return Interpreter.toFloat(value) ?? a[0]
        case "abs":
            switch value {
            case .int(let i): return .int(i.magnitude <= UInt(Int.max) ? abs(i) : i)
            case .bool(let b): return .int(b ? 1 : 0)
            case .double(let d): return .double(abs(d))
            default: throw TemplateError.runtime("TypeError: bad operand type for abs(): '\(value.typeName)'")
            }
        case "round":
            let a = try bind(["precision", "method"], [.int(0), .string("common")])
            return try round(value, precision: a[0].integer ?? 0, method: a[1].pythonString)
        case "indent":
            let a = try bind(["width", "first", "blank"], [.int(4), .bool(false), .bool(false)])
            return .string(Interpreter.indent(value.pythonString, a[0], first: a[1].isTruthy, blank: a[2].isTruthy))
        case "center":
            let width = try bind(["width"], [.int(80)])[0].integer ?? 80
            return .string(PyString.pad(value.pythonString, width: width, fill: " ", mode: "center"))
        case "wordcount":
            return .int(Interpreter.wordCount(value.pythonString))
        case "format":
            if !arguments.keyword.isEmpty && !arguments.positional.isEmpty {
                throw TemplateError.runtime("can't handle positional and keyword arguments at the same time")
            }
            let operand: Value = arguments.keyword.isEmpty
                ? .array(arguments.positional) : .dict(PyDict(arguments.keyword.map { (.string($0), $1) }))
            return .string(try PythonFormat.percent(value.pythonString, operand, argumentsAreTuple: arguments.keyword.isEmpty))
        case "striptags":
            return .string(Interpreter.stripTags(value.pythonString))
        case "batch":
            let a = try bind(["linecount", "fill_with"], [nil, Value.none])
            let size = max(1, a[0].integer ?? 1)
            let items = try iterate(value)
            var batches: [Value] = []
            var start = 0
            while start < items.count {
                var chunk = Array(items[start..<min(start + size, items.count)])
                if chunk.count < size, !a[1].isNone { chunk += Array(repeating: a[1], count: size - chunk.count) }
                batches.append(.array(chunk))
                start += size
            }
            return .generator(batches)
        case "attr":
            let attribute = try bind(["name"], [nil])[0]
            return try getAttribute(value, attribute.pythonString)
        case "truncate":
            let a = try bind(["length", "killwords", "end", "leeway"], [.int(255), .bool(false), .string("..."), .int(5)])
            return .string(Interpreter.truncate(value.pythonString, a))
        default:
            throw TemplateError.runtime("No filter named '\(name)' found.")
        }
    }

    func length(_ value: Value) throws -> Int {
        switch value.unmarked {
        case .undefined: return 0
        case .string(let s): return s.unicodeScalars.count
        case .array(let a): return a.count
        case .dict(let d): return d.count
        default: throw TemplateError.runtime("TypeError: object of type '\(value.typeName)' has no len()")
        }
    }

    /// jinja2's `make_attrgetter`: a dotted path of attribute names or integer indices.
    func attributePath(_ item: Value, _ path: Value, defaultValue: Value? = nil) throws -> Value {
        var current = item
        let parts: [Value]
        if case .string(let s) = path {
            parts = s.split(separator: ".", omittingEmptySubsequences: false).map { Int($0).map(Value.int) ?? .string(String($0)) }
        } else {
            parts = [path]
        }
        for part in parts {
            current = try getItem(current, part)
        }
        if current.isUndefined, let defaultValue { return defaultValue }
        return current
    }

    func map(_ value: Value, _ arguments: Arguments) throws -> [Value] {
        let items = try iterate(value)
        if let attribute = arguments.keyword.first(where: { $0.0 == "attribute" })?.1 {
            let fallback = arguments.keyword.first(where: { $0.0 == "default" })?.1
            return try items.map { try attributePath($0, attribute, defaultValue: fallback) }
        }
        guard let filterName = arguments.positional.first else { return items }
        let name = filterName.pythonString
        guard Interpreter.filterNames.contains(name) else { throw TemplateError.runtime("No filter named '\(name)'.") }
        let rest = Arguments(Array(arguments.positional.dropFirst()), arguments.keyword)
        return try items.map { try applyFilter(name, $0, rest) }
    }

    func select(_ value: Value, _ arguments: Arguments, attribute: Bool, keep: Bool) throws -> [Value] {
        var positional = arguments.positional
        var path: Value?
        if attribute {
            guard !positional.isEmpty else { throw TemplateError.runtime("TypeError: missing attribute argument") }
            path = positional.removeFirst()
        }
        let testName = positional.isEmpty ? nil : positional.removeFirst().pythonString
        if let testName, !Interpreter.testNames.contains(testName) {
            throw TemplateError.runtime("No test named '\(testName)'.")
        }
        let rest = Arguments(positional, arguments.keyword)
        return try iterate(value).filter { item in
            let subject = try path.map { try attributePath(item, $0) } ?? item
            let passed = try testName.map { try applyTest($0, subject, rest) } ?? subject.isTruthy
            return passed == keep
        }
    }

    /// Python's stable `sorted(key=…)`, raising where Python cannot order two keys.
    func stableSort(_ items: [Value], reverse: Bool, key: (Value) throws -> Value) throws -> [Value] {
        let keyed = try items.enumerated().map { ($0.offset, try key($0.element), $0.element) }
        var failure: Error?
        let sorted = keyed.sorted { a, b in
            do {
                let order = try a.1.pyCompare(b.1, "<")
                if order != 0 { return reverse ? order > 0 : order < 0 }
            } catch {
                failure = failure ?? error
            }
            return a.0 < b.0
        }
        if let failure { throw failure }
        return sorted.map(\.2)
    }

    static func ignoreCase(_ value: Value) -> Value {
        if case .string(let s) = value { return .string(s.lowercased()) }
        return value
    }

    static func jinjaTitle(_ s: String) -> String {
        // Words start after runs of '-', whitespace, '(', '{', '[' or '<'; each word is capitalised.
        var out = ""
        var atWordStart = true
        for character in s {
            if character == "-" || character.isPythonSpace || "({[<".contains(character) {
                out.append(character)
                atWordStart = true
            } else if atWordStart {
                out += character.uppercased()
                atWordStart = false
            } else {
                out += character.lowercased()
            }
        }
        return out
    }

    static func escapeHTML(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&#34;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    static func toInt(_ value: Value, base: Int) -> Value? {
        switch value {
        case .int, .bool: return .int(value.integer!)
        case .double(let d): return d.isFinite && abs(d) < 9.2e18 ? .int(Int(d)) : nil
        case .string(let s):
            var trimmed = PyString.strip(s, nil, left: true, right: true).replacingOccurrences(of: "_", with: "")
            var sign = ""
            if trimmed.hasPrefix("-") || trimmed.hasPrefix("+") { sign = String(trimmed.removeFirst()) }
            // Python's int(text, base) accepts the prefix of its base (and base 0 reads it).
            let prefixes: [(String, Int)] = [("0x", 16), ("0o", 8), ("0b", 2)]
            var radix = base
            for (prefix, prefixBase) in prefixes where trimmed.lowercased().hasPrefix(prefix) && (base == prefixBase || base == 0) {
                trimmed.removeFirst(2)
                radix = prefixBase
            }
            if radix == 0 { radix = 10 }
            if (2...36).contains(radix), let i = Int(sign + trimmed, radix: radix) { return .int(i) }
            if base == 10, let d = Double(trimmed), d.isFinite, abs(d) < 9.2e18 { return .int(Int(d)) }
            return nil
        default: return nil
        }
    }

    static func toFloat(_ value: Value) -> Value? {
        switch value {
        case .int, .bool, .double: return .double(value.number!)
        case .string(let s):
            let trimmed = PyString.strip(s, nil, left: true, right: true).lowercased()
            switch trimmed {
            case "inf", "+inf", "infinity", "+infinity": return .double(.infinity)
            case "-inf", "-infinity": return .double(-.infinity)
            case "nan", "+nan", "-nan": return .double(.nan)
            default: return Double(trimmed).map { .double($0) }
            }
        default: return nil
        }
    }

    func round(_ value: Value, precision: Int, method: String) throws -> Value {
        guard let x = value.number else {
            throw TemplateError.runtime("TypeError: type \(value.typeName) doesn't define __round__ method")
        }
        if method == "common" {
            if value.integer != nil, precision >= 0 { return .int(value.integer!) }
            if precision == 0 { return .double(x.rounded(.toNearestOrEven)) }
            let text = String(format: "%.\(max(0, precision))f", x)
            return .double(Double(text) ?? x)
        }
        let scale = pow(10.0, Double(precision))
        let rounded = method == "ceil" ? (x * scale).rounded(.up) : (x * scale).rounded(.down)
        return .double(rounded / scale)
    }

    /// jinja2's `do_indent`, including its trick of appending a newline before splitting lines.
    static func indent(_ s: String, _ width: Value, first: Bool, blank: Bool) -> String {
        let pad = width.isString ? width.pythonString : String(repeating: " ", count: max(0, width.integer ?? 4))
        var lines = PyString.splitLines(s + "\n", keepEnds: false)
        var out: String
        if blank {
            out = lines.joined(separator: "\n" + pad)
        } else {
            out = lines.isEmpty ? "" : lines.removeFirst()
            if !lines.isEmpty {
                out += "\n" + lines.map { $0.isEmpty ? $0 : pad + $0 }.joined(separator: "\n")
            }
        }
        return first ? pad + out : out
    }

    static func wordCount(_ s: String) -> Int {
        var count = 0
        var inWord = false
        for c in s.unicodeScalars {
            let isWordChar = c.properties.isAlphabetic || c.properties.numericType != nil || c == "_"
            if isWordChar && !inWord { count += 1 }
            inWord = isWordChar
        }
        return count
    }

    static func stripTags(_ s: String) -> String {
        var text = ""
        var inTag = false
        var scalars = Array(s.unicodeScalars)[...]
        while let c = scalars.first {
            if !inTag, c == "<", scalars.starts(with: "<!--".unicodeScalars) {
                if let end = PyString.occurrences(Array(scalars), Array("-->".unicodeScalars)).first {
                    scalars = scalars.dropFirst(end + 3)
                    continue
                }
            }
            if c == "<" { inTag = true } else if c == ">" && inTag { inTag = false } else if !inTag { text.unicodeScalars.append(c) }
            scalars = scalars.dropFirst()
        }
        let words = try? PyString.split(text, nil, maxSplit: -1, fromRight: false)
        return (words ?? []).joined(separator: " ")
    }

    static func truncate(_ s: String, _ a: [Value]) -> String {
        let length = a[0].integer ?? 255
        let end = a[2].pythonString
        let leeway = a[3].integer ?? 5
        let scalars = Array(s.unicodeScalars)
        if scalars.count <= length + leeway { return s }
        if a[1].isTruthy { return PyString.make(scalars.prefix(max(0, length - end.unicodeScalars.count))) + end }
        var head = PyString.make(scalars.prefix(max(0, length - end.unicodeScalars.count)))
        if let space = head.unicodeScalars.lastIndex(of: " ") { head = String(head.unicodeScalars[..<space]) }
        return head + end
    }
}
