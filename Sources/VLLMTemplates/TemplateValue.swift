import Foundation

/// A value handed to a chat template: JSON's data model with Python's distinction between int and
/// float, and dictionaries that keep their key order (`tojson` prints keys in the order the client sent them).
public enum TemplateValue: Sendable, Equatable {
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([TemplateValue])
    /// Keys in insertion order.
    case dict([(key: String, value: TemplateValue)])

    public static func == (lhs: TemplateValue, rhs: TemplateValue) -> Bool {
        switch (lhs, rhs) {
        case (.none, .none): true
        case (.bool(let a), .bool(let b)): a == b
        case (.int(let a), .int(let b)): a == b
        case (.double(let a), .double(let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.dict(let a), .dict(let b)): a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: false
        }
    }

    /// The value of `key` in a dict (first match), else nil.
    public subscript(key: String) -> TemplateValue? {
        guard case .dict(let pairs) = self else { return nil }
        return pairs.first { $0.key == key }?.value
    }

    /// From `JSONSerialization` output. Dictionary key order is whatever Foundation gives (it does not
    /// keep the document's order): use `init(json:)` on the raw bytes where order matters.
    public init(jsonObject: Any) throws {
        switch jsonObject {
        case is NSNull: self = .none
        case let s as String: self = .string(s)
        case let n as NSNumber:
            // The Objective-C type code tells a JSON true/false ("c") from numbers on every platform.
            let code = String(cString: n.objCType)
            if code == "c" || code == "B" {
                self = .bool(n.boolValue)
            } else if code == "d" || code == "f" {
                self = .double(n.doubleValue)
            } else {
                self = .int(n.intValue)
            }
        case let a as [Any]: self = .array(try a.map { try TemplateValue(jsonObject: $0) })
        case let d as [String: Any]:
            self = .dict(try d.keys.sorted().map { ($0, try TemplateValue(jsonObject: d[$0]!)) })
        default:
            throw TemplateError.load("unsupported JSON value of type \(type(of: jsonObject))")
        }
    }

    /// Parses JSON text keeping object key order; numbers with a fraction or exponent are floats, as in Python.
    public init(json: Data) throws {
        var parser = OrderedJSONParser(bytes: Array(json))
        self = try parser.parseDocument()
    }

    public init(json: String) throws {
        try self.init(json: Data(json.utf8))
    }

    var value: Value {
        switch self {
        case .none: .none
        case .bool(let b): .bool(b)
        case .int(let i): .int(i)
        case .double(let d): .double(d)
        case .string(let s): .string(s)
        case .array(let items): .array(items.map(\.value))
        case .dict(let pairs): .dict(PyDict(pairs.map { (.string($0.key), $0.value.value) }))
        }
    }
}
