/// jinja2's built-in tests (`x is defined`, `x is divisibleby 3`, …).
extension Interpreter {
    static let testNames: Set<String> = [
        "boolean", "callable", "defined", "divisibleby", "eq", "equalto", "escaped", "even", "false", "filter",
        "float", "ge", "gt", "greaterthan", "in", "integer", "iterable", "le", "lower", "lessthan", "lt", "mapping",
        "ne", "none", "number", "odd", "sameas", "sequence", "string", "test", "true", "undefined", "upper", "==",
        "!=", "<", "<=", ">", ">=",
    ]

    func applyTest(_ name: String, _ markedValue: Value, _ arguments: Arguments) throws -> Bool {
        let value = markedValue.unmarked
        func argument() throws -> Value { try arguments.bind(name, ["other"], defaults: [])[0] }
        switch name {
        case "defined": return !value.isUndefined
        case "undefined": return value.isUndefined
        case "none": return value.isNone
        case "string": return value.isString
        case "boolean":
            if case .bool = value { return true }
            return false
        case "true":
            if case .bool(true) = value { return true }
            return false
        case "false":
            if case .bool(false) = value { return true }
            return false
        case "number": return value.number != nil
        case "integer":
            if case .int = value { return true }
            return false
        case "float":
            if case .double = value { return true }
            return false
        case "mapping":
            if case .dict = value { return true }
            return false
        case "sequence":
            switch value {
            case .string, .array, .dict: return true
            default: return false
            }
        case "iterable":
            switch value {
            case .string, .array, .dict, .undefined: return true
            case .object(let object): return object is Iterable
            default: return false
            }
        case "callable":
            if case .function = value { return true }
            return false
        case "escaped": return false
        case "lower": return value.pythonString == value.pythonString.lowercased()
        case "upper": return value.pythonString == value.pythonString.uppercased()
        case "odd", "even":
            guard let i = value.integer else {
                if case .undefined(let u) = value { throw u.error }
                throw TemplateError.runtime("TypeError: not all arguments converted during string formatting")
            }
            return (abs(i % 2) == 1) == (name == "odd")
        case "divisibleby":
            let divisor = try argument()
            let remainder = try binary("%", value, divisor)
            return remainder.pyEquals(.int(0))
        case "eq", "equalto", "==": return value.pyEquals(try argument())
        case "ne", "!=": return !value.pyEquals(try argument())
        case "lt", "lessthan", "<": return try value.pyCompare(try argument(), "<") < 0
        case "le", "<=": return try value.pyCompare(try argument(), "<=") <= 0
        case "gt", "greaterthan", ">": return try value.pyCompare(try argument(), ">") > 0
        case "ge", ">=": return try value.pyCompare(try argument(), ">=") >= 0
        case "in": return try contains(try argument(), value)
        case "sameas":
            let other = try argument()
            switch (value, other) {
            case (.none, .none), (.undefined, .undefined): return true
            case (.bool(let a), .bool(let b)): return a == b
            case (.int(let a), .int(let b)): return a == b && a >= -5 && a <= 256
            case (.function(let a), .function(let b)): return a === b
            case (.object(let a), .object(let b)): return a === b
            default: return false
            }
        case "filter": return Interpreter.filterNames.contains(value.pythonString)
        case "test": return Interpreter.testNames.contains(value.pythonString)
        default: throw TemplateError.runtime("No test named '\(name)' found.")
        }
    }
}
