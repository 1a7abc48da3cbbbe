import Foundation

/// A value while a template runs: Python's data model as far as chat templates reach into it.
///
/// Containers are value types, as Python's immutable-sandbox forbids mutating them anyway; the only
/// mutable things (`namespace()`, `cycler()`, `joiner()`, the `loop` object) are reference types behind
/// `.object`, which is what gives `{% set ns.x = … %}` its effect across loop scopes.
enum Value {
    case undefined(Undefined)
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    /// markupsafe's `Markup` (from `|safe`): text that escapes plain strings added to it, even with
    /// autoescaping off. Everywhere else it behaves as its text (see `unmarked`).
    case markup(String)
    case array([Value])
    case dict(PyDict)
    case function(Function)
    case object(TemplateObject)

    static var emptyString: Value { .string("") }
    static func undefined(_ message: String) -> Value { .undefined(Undefined(message: message)) }
    /// Markup as the plain string it is a subclass of.
    var unmarked: Value {
        if case .markup(let s) = self { return .string(s) }
        return self
    }

    static func generator(_ items: [Value], _ typeName: String = "generator") -> Value {
        .object(Generator(items, typeName: typeName))
    }
}

/// jinja2's default (lenient) `Undefined`: prints as nothing, iterates as empty, is falsy, and raises
/// with `message` as soon as anything is asked of it (an attribute, an operator, a call).
struct Undefined {
    var message: String
    var error: TemplateError { .runtime("UndefinedError: " + message) }
}

/// A callable: a builtin global, a bound method of a str/list/dict, a macro, or `caller`.
final class Function {
    let name: String
    let body: (Arguments) throws -> Value
    init(_ name: String, _ body: @escaping (Arguments) throws -> Value) {
        self.name = name
        self.body = body
    }
}

/// Objects with attributes that templates read (and, for `namespace`, write).
protocol TemplateObject: AnyObject {
    var typeName: String { get }
    func attribute(_ name: String) -> Value?
    func setAttribute(_ name: String, _ value: Value) throws
    var pythonRepr: String { get }
}

extension TemplateObject {
    func setAttribute(_ name: String, _ value: Value) throws {
        throw TemplateError.runtime("cannot assign attribute on non-namespace object")
    }
    var pythonRepr: String { "<\(typeName) object>" }
}

/// `namespace(...)`: the one object templates may mutate, through `{% set ns.attr = value %}`.
final class Namespace: TemplateObject {
    var attributes: PyDict
    init(_ attributes: PyDict) { self.attributes = attributes }
    var typeName: String { "Namespace" }
    func attribute(_ name: String) -> Value? { attributes[.string(name)] }
    func setAttribute(_ name: String, _ value: Value) throws { attributes[.string(name)] = value }
    var pythonRepr: String { "<Namespace " + Value.dict(attributes).pythonRepr + ">" }
}

/// Call arguments as Python sees them: positional, then keyword in the order written.
struct Arguments {
    var positional: [Value] = []
    var keyword: [(String, Value)] = []

    init(_ positional: [Value] = [], _ keyword: [(String, Value)] = []) {
        self.positional = positional
        self.keyword = keyword
    }

    /// Binds to a Python signature `names` (with `defaults` for the trailing ones); raises on too many
    /// or unknown arguments the way Python would, naming `function`.
    func bind(_ function: String, _ names: [String], defaults: [Value?]) throws -> [Value] {
        if positional.count > names.count {
            throw TemplateError.runtime(
                "TypeError: \(function)() takes at most \(names.count) argument(s) (\(positional.count) given)")
        }
        var slots: [Value?] = positional.map { $0 } + Array(repeating: nil, count: names.count - positional.count)
        for (key, value) in keyword {
            guard let index = names.firstIndex(of: key) else {
                throw TemplateError.runtime("TypeError: \(function)() got an unexpected keyword argument '\(key)'")
            }
            if slots[index] != nil {
                throw TemplateError.runtime("TypeError: \(function)() got multiple values for argument '\(key)'")
            }
            slots[index] = value
        }
        return try slots.enumerated().map { index, slot in
            if let slot { return slot }
            if index < defaults.count, let fallback = defaults[index] { return fallback }
            throw TemplateError.runtime("TypeError: \(function)() missing required argument '\(names[index])'")
        }
    }
}

/// Python `dict`: insertion-ordered, keys compared as Python compares them (1 == 1.0 == True).
struct PyDict {
    private(set) var keys: [Value] = []
    private(set) var values: [Value] = []
    private var index: [HashKey: Int] = [:]

    init() {}
    init(_ pairs: [(Value, Value)]) {
        for (key, value) in pairs { self[key] = value }
    }

    var count: Int { keys.count }
    var pairs: Zip2Sequence<[Value], [Value]> { zip(keys, values) }

    subscript(key: Value) -> Value? {
        get { index[HashKey(key)].map { values[$0] } }
        set {
            let hashKey = HashKey(key)
            if let newValue {
                if let position = index[hashKey] {
                    values[position] = newValue
                } else {
                    index[hashKey] = keys.count
                    keys.append(key)
                    values.append(newValue)
                }
            } else if let position = index.removeValue(forKey: hashKey) {
                keys.remove(at: position)
                values.remove(at: position)
                for (other, slot) in index where slot > position { index[other] = slot - 1 }
            }
        }
    }

    subscript(string key: String) -> Value? { self[.string(key)] }
}

/// Python's hash equivalence for the keys templates use: numbers by value, everything else by repr.
enum HashKey: Hashable {
    case string(String)
    case number(Double)
    case other(String)

    init(_ value: Value) {
        switch value.unmarked {
        case .string(let s): self = .string(s)
        case .bool(let b): self = .number(b ? 1 : 0)
        case .int(let i): self = .number(Double(i))
        case .double(let d): self = .number(d)
        default: self = .other(value.pythonRepr)
        }
    }
}
