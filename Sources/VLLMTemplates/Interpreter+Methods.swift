import Foundation

/// The Python methods templates call on str, dict and list values. Mutating ones exist (so that
/// `x.append` is found, as in Python) but refuse to run, as transformers' ImmutableSandboxedEnvironment does.
extension Interpreter {
    static let mutatingMethods: [String: Set<String>] = [
        "list": ["append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse", "__setitem__", "__delitem__"],
        "dict": ["clear", "pop", "popitem", "setdefault", "update", "__setitem__", "__delitem__"],
    ]

    static let stringMethods: Set<String> = [
        "strip", "lstrip", "rstrip", "split", "rsplit", "splitlines", "startswith", "endswith", "upper", "lower",
        "title", "capitalize", "swapcase", "casefold", "replace", "format", "join", "find", "rfind", "index",
        "rindex", "count", "isdigit", "isalpha", "isalnum", "isspace", "islower", "isupper", "isnumeric",
        "isdecimal", "istitle", "zfill", "ljust", "rjust", "center", "removeprefix", "removesuffix", "partition",
        "rpartition",
    ]

    /// `value.name` when it is a Python method of the value's type, bound to it.
    func method(_ markedValue: Value, _ name: String) -> Value? {
        let value = markedValue.unmarked
        let typeName = value.typeName
        if Interpreter.mutatingMethods[typeName]?.contains(name) == true {
            return .function(Function(name) { _ in
                throw TemplateError.runtime(
                    "SecurityError: access to attribute '\(name)' of '\(typeName)' object is unsafe.")
            })
        }
        switch value {
        case .string(let s) where Interpreter.stringMethods.contains(name):
            return .function(Function(name) { arguments in try Interpreter.callStringMethod(s, name, arguments) })
        case .dict(let dict) where ["items", "keys", "values", "get", "copy"].contains(name):
            return .function(Function(name) { arguments in
                switch name {
                case "items": return .array(dict.pairs.map { .array([$0, $1]) })
                case "keys": return .array(dict.keys)
                case "values": return .array(dict.values)
                case "copy": return .dict(dict)
                default:
                    let bound = try arguments.bind("get", ["key", "default"], defaults: [nil, Value.none])
                    return dict[bound[0]] ?? bound[1]
                }
            })
        case .array(let items) where ["index", "count", "copy"].contains(name):
            return .function(Function(name) { arguments in
                switch name {
                case "copy": return .array(items)
                case "count":
                    let bound = try arguments.bind("count", ["value"], defaults: [])
                    return .int(items.filter { $0.pyEquals(bound[0]) }.count)
                default:
                    let bound = try arguments.bind("index", ["value"], defaults: [])
                    guard let i = items.firstIndex(where: { $0.pyEquals(bound[0]) }) else {
                        throw TemplateError.runtime("ValueError: \(bound[0].pythonRepr) is not in list")
                    }
                    return .int(i)
                }
            })
        default:
            return nil
        }
    }

    static func stringArgument(_ value: Value, _ method: String) throws -> String {
        guard case .string(let s) = value else {
            throw TemplateError.runtime("TypeError: \(method) arg must be str, not \(value.typeName)")
        }
        return s
    }

    static func callStringMethod(_ s: String, _ name: String, _ arguments: Arguments) throws -> Value {
        func optionalChars(_ value: Value) throws -> String? {
            value.isNone ? nil : try stringArgument(value, name)
        }
        switch name {
        case "strip", "lstrip", "rstrip":
            let chars = try optionalChars(try arguments.bind(name, ["chars"], defaults: [Value.none])[0])
            return .string(PyString.strip(s, chars, left: name != "rstrip", right: name != "lstrip"))
        case "split", "rsplit":
            let bound = try arguments.bind(name, ["sep", "maxsplit"], defaults: [Value.none, .int(-1)])
            let separator = try optionalChars(bound[0])
            let parts = try PyString.split(s, separator, maxSplit: bound[1].integer ?? -1, fromRight: name == "rsplit")
            return .array(parts.map { .string($0) })
        case "splitlines":
            let keepEnds = try arguments.bind(name, ["keepends"], defaults: [.bool(false)])[0].isTruthy
            return .array(PyString.splitLines(s, keepEnds: keepEnds).map { .string($0) })
        case "startswith", "endswith":
            let bound = try arguments.bind(name, ["prefix", "start", "end"], defaults: [nil, Value.none, Value.none])
            let scalars = Array(s.unicodeScalars)
            let window = try Value.pySlice(scalars, bound[1].integer, bound[2].integer, nil)
            let candidates: [Value]
            if case .array(let items) = bound[0] { candidates = items } else { candidates = [bound[0]] }
            for candidate in candidates {
                let affix = Array(try stringArgument(candidate, name).unicodeScalars)
                if name == "startswith" ? window.starts(with: affix) : window.reversed().starts(with: affix.reversed()) {
                    return .bool(true)
                }
            }
            return .bool(false)
        case "upper": return .string(s.uppercased())
        case "lower": return .string(s.lowercased())
        case "casefold": return .string(s.lowercased())
        case "swapcase":
            return .string(String(s.map { $0.isUppercase ? Character($0.lowercased()) : Character($0.uppercased()) }))
        case "title": return .string(PyString.title(s))
        case "capitalize": return .string(PyString.capitalize(s))
        case "replace":
            guard arguments.keyword.isEmpty else {
                throw TemplateError.runtime("TypeError: str.replace() takes no keyword arguments")
            }
            let bound = try arguments.bind(name, ["old", "new", "count"], defaults: [nil, nil, .int(-1)])
            return .string(
                PyString.replace(
                    s, try stringArgument(bound[0], name), try stringArgument(bound[1], name),
                    count: bound[2].integer ?? -1))
        case "format":
            return .string(try PythonFormat.format(s, arguments))
        case "join":
            let items = try arguments.bind(name, ["iterable"], defaults: [])[0]
            let strings: [String]
            switch items {
            case .array(let a): strings = try a.map { try stringArgument($0, "sequence item") }
            case .string(let t): strings = t.unicodeScalars.map { String($0) }
            case .dict(let d): strings = try d.keys.map { try stringArgument($0, "sequence item") }
            default: throw TemplateError.runtime("TypeError: can only join an iterable")
            }
            return .string(strings.joined(separator: s))
        case "find", "rfind", "index", "rindex", "count":
            let bound = try arguments.bind(name, ["sub", "start", "end"], defaults: [nil, Value.none, Value.none])
            let needle = Array(try stringArgument(bound[0], name).unicodeScalars)
            let scalars = Array(s.unicodeScalars)
            let offset = bound[1].integer.map { $0 < 0 ? max(0, $0 + scalars.count) : min($0, scalars.count) } ?? 0
            let window = try Value.pySlice(scalars, bound[1].integer, bound[2].integer, nil)
            let hits = PyString.occurrences(window, needle)
            if name == "count" { return .int(hits.count) }
            let hit = name.hasPrefix("r") ? hits.last : hits.first
            if let hit { return .int(hit + offset) }
            if name.hasSuffix("index") { throw TemplateError.runtime("ValueError: substring not found") }
            return .int(-1)
        case "isdigit", "isnumeric", "isdecimal":
            return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.numericType != nil })
        case "isalpha": return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy(\.properties.isAlphabetic))
        case "isalnum":
            return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy {
                $0.properties.isAlphabetic || $0.properties.numericType != nil
            })
        case "isspace": return .bool(!s.isEmpty && s.unicodeScalars.allSatisfy(\.isPythonSpace))
        case "islower": return .bool(s.contains(where: \.isLowercase) && !s.contains(where: \.isUppercase))
        case "isupper": return .bool(s.contains(where: \.isUppercase) && !s.contains(where: \.isLowercase))
        case "istitle": return .bool(!s.isEmpty && PyString.title(s) == s && s.contains(where: \.isLetter))
        case "zfill", "ljust", "rjust", "center":
            let bound = try arguments.bind(name, ["width", "fillchar"], defaults: [nil, .string(" ")])
            let width = bound[0].integer ?? 0
            let fill = try stringArgument(bound[1], name)
            return .string(PyString.pad(s, width: width, fill: name == "zfill" ? "0" : fill, mode: name))
        case "removeprefix", "removesuffix":
            let affix = try stringArgument(try arguments.bind(name, ["affix"], defaults: [])[0], name)
            if name == "removeprefix", s.hasPrefix(affix) { return .string(String(s.dropFirst(affix.count))) }
            if name == "removesuffix", s.hasSuffix(affix), !affix.isEmpty {
                return .string(String(s.dropLast(affix.count)))
            }
            return .string(s)
        case "partition", "rpartition":
            let separator = try stringArgument(try arguments.bind(name, ["sep"], defaults: [])[0], name)
            let range = name == "partition" ? s.range(of: separator) : s.range(of: separator, options: .backwards)
            guard let range else {
                return .array(name == "partition" ? [.string(s), .emptyString, .emptyString] : [.emptyString, .emptyString, .string(s)])
            }
            return .array([.string(String(s[..<range.lowerBound])), .string(separator), .string(String(s[range.upperBound...]))])
        default:
            throw TemplateError.runtime("'str object' has no attribute '\(name)'")
        }
    }
}
