import Foundation

/// Expression evaluation with Python's operator semantics.
extension Interpreter {
    func evaluate(_ expr: Expr, _ scope: Scope) throws -> Value {
        switch expr {
        case .none: return .none
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(i)
        case .double(let d): return .double(d)
        case .string(let s): return .string(s)
        case .name(let name):
            return scope.lookup(name) ?? globals.lookup(name) ?? .undefined("'\(name)' is undefined")
        case .list(let items), .tuple(let items):
            return .array(try items.map { try evaluate($0, scope) })
        case .dict(let pairs):
            var dict = PyDict()
            for (key, value) in pairs { dict[try evaluate(key, scope)] = try evaluate(value, scope) }
            return .dict(dict)
        case .attribute(let base, let name):
            return try getAttribute(try evaluate(base, scope), name)
        case .item(let base, let key):
            return try getItem(try evaluate(base, scope), try evaluate(key, scope))
        case .slice(let base, let start, let stop, let step):
            let value = try evaluate(base, scope)
            return try slice(
                value, try start.map { try evaluate($0, scope) }, try stop.map { try evaluate($0, scope) },
                try step.map { try evaluate($0, scope) })
        case .call(let callee, let arguments):
            let function = try evaluate(callee, scope)
            return try callValue(function, try evaluateArguments(arguments, scope))
        case .filter(let base, let filter):
            return try applyFilter(filter, try evaluate(base, scope), scope)
        case .test(let base, let test, let isNegated):
            let value = try evaluate(base, scope)
            let result = try applyTest(test.name, value, try evaluateArguments(test.arguments, scope))
            return .bool(result != isNegated)
        case .unary(let op, let operand):
            return try unary(op, try evaluate(operand, scope))
        case .binary(let op, let left, let right):
            return try binary(op, try evaluate(left, scope), try evaluate(right, scope))
        case .compare(let first, let operations):
            var left = try evaluate(first, scope)
            for (op, rightExpr) in operations {
                let right = try evaluate(rightExpr, scope)
                guard try compare(op, left, right) else { return .bool(false) }
                left = right
            }
            return .bool(true)
        case .and(let left, let right):
            let l = try evaluate(left, scope)
            return l.isTruthy ? try evaluate(right, scope) : l
        case .or(let left, let right):
            let l = try evaluate(left, scope)
            return l.isTruthy ? l : try evaluate(right, scope)
        case .not(let operand):
            return .bool(!(try evaluate(operand, scope).isTruthy))
        case .conditional(let then, let condition, let orElse):
            if try evaluate(condition, scope).isTruthy { return try evaluate(then, scope) }
            guard let orElse else {
                return .undefined("the inline if-expression evaluated to false and no else section was defined.")
            }
            return try evaluate(orElse, scope)
        }
    }

    func evaluateArguments(_ arguments: [Argument], _ scope: Scope) throws -> Arguments {
        var result = Arguments()
        for argument in arguments {
            switch argument {
            case .positional(let expr): result.positional.append(try evaluate(expr, scope))
            case .keyword(let name, let expr): result.keyword.append((name, try evaluate(expr, scope)))
            case .star(let expr): result.positional += try iterate(try evaluate(expr, scope))
            case .doubleStar(let expr):
                guard case .dict(let dict) = try evaluate(expr, scope) else {
                    throw TemplateError.runtime("TypeError: argument after ** must be a mapping")
                }
                for (key, value) in dict.pairs { result.keyword.append((key.pythonString, value)) }
            }
        }
        return result
    }

    func callValue(_ callee: Value, _ arguments: Arguments) throws -> Value {
        switch callee {
        case .function(let function): return try function.body(arguments)
        case .undefined(let u): throw u.error
        default: throw TemplateError.runtime("TypeError: '\(callee.typeName)' object is not callable")
        }
    }

    /// jinja2's `getattr`: Python attributes (methods) first, then the dict key.
    func getAttribute(_ markedValue: Value, _ name: String) throws -> Value {
        let value = markedValue.unmarked
        switch value {
        case .undefined(let u):
            throw u.error
        case .dict(let dict):
            if let method = method(value, name) { return method }
            return dict[string: name] ?? .undefined("'dict object' has no attribute '\(name)'")
        case .object(let object):
            return object.attribute(name) ?? .undefined("'\(object.typeName)' object has no attribute '\(name)'")
        default:
            if let method = method(value, name) { return method }
            return .undefined("\(Value.reprString(objectTypeRepr(value))) has no attribute '\(name)'")
        }
    }

    func objectTypeRepr(_ value: Value) -> String {
        if case .none = value { return "None" }
        return value.typeName + " object"
    }

    /// jinja2's `getitem`: the item first, then (for a string key) the attribute.
    func getItem(_ markedValue: Value, _ markedKey: Value) throws -> Value {
        let (value, key) = (markedValue.unmarked, markedKey.unmarked)
        switch value {
        case .undefined(let u):
            throw u.error
        case .dict(let dict):
            if let item = dict[key] { return item }
        case .array(let items):
            if let i = key.integer, let item = Value.element(items, i) { return item }
        case .string(let s):
            if let i = key.integer {
                let scalars = Array(s.unicodeScalars)
                if let item = Value.element(scalars, i) { return .string(String(item)) }
            }
        case .object(let object):
            if case .string(let name) = key, let attribute = object.attribute(name) { return attribute }
        default:
            break
        }
        if case .string(let name) = key, let method = method(value, name) { return method }
        let what = key.isString ? "attribute" : "element"
        return .undefined("\(Value.reprString(objectTypeRepr(value))) has no \(what) \(key.pythonRepr)")
    }

    func slice(_ value: Value, _ start: Value?, _ stop: Value?, _ step: Value?) throws -> Value {
        func bound(_ v: Value?) throws -> Int? {
            guard let v, !(v.isNone) else { return nil }
            guard let i = v.integer else {
                if case .undefined(let u) = v { throw u.error }
                throw TemplateError.runtime(
                    "TypeError: slice indices must be integers or None or have an __index__ method")
            }
            return i
        }
        let (a, b, c) = (try bound(start), try bound(stop), try bound(step))
        switch value.unmarked {
        case .array(let items):
            return .array(try Value.pySlice(items, a, b, c))
        case .string(let s):
            var view = String.UnicodeScalarView()
            view.append(contentsOf: try Value.pySlice(Array(s.unicodeScalars), a, b, c))
            return .string(String(view))
        case .undefined(let u):
            throw u.error
        default:
            throw TemplateError.runtime("TypeError: '\(value.typeName)' object is not subscriptable")
        }
    }

    func unary(_ op: String, _ value: Value) throws -> Value {
        switch value {
        case .undefined(let u): throw u.error
        case .int(let i):
            if op == "+" { return .int(i) }
            let (negated, overflow) = (0).subtractingReportingOverflow(i)
            if overflow { throw TemplateError.runtime("OverflowError: integer out of range") }
            return .int(negated)
        case .bool(let b): return .int(op == "-" ? (b ? -1 : 0) : (b ? 1 : 0))
        case .double(let d): return .double(op == "-" ? -d : d)
        default: throw TemplateError.runtime("TypeError: bad operand type for unary \(op): '\(value.typeName)'")
        }
    }

    func compare(_ op: String, _ left: Value, _ right: Value) throws -> Bool {
        switch op {
        case "==": return left.pyEquals(right)
        case "!=": return !left.pyEquals(right)
        case "<": return try left.pyCompare(right, op) < 0
        case "<=": return try left.pyCompare(right, op) <= 0
        case ">": return try left.pyCompare(right, op) > 0
        case ">=": return try left.pyCompare(right, op) >= 0
        case "in": return try contains(right, left)
        default: return !(try contains(right, left))
        }
    }

    /// Python `item in container`.
    func contains(_ markedContainer: Value, _ markedItem: Value) throws -> Bool {
        let (container, item) = (markedContainer.unmarked, markedItem.unmarked)
        switch container {
        case .undefined: return false
        case .string(let s):
            guard case .string(let needle) = item else {
                throw TemplateError.runtime(
                    "TypeError: 'in <string>' requires string as left operand, not \(item.typeName)")
            }
            return needle.isEmpty || s.contains(needle)
        case .array(let items): return items.contains { $0.pyEquals(item) }
        case .dict(let dict): return dict[item] != nil
        case .object(let object as Iterable): return object.elements().contains { $0.pyEquals(item) }
        default:
            throw TemplateError.runtime("TypeError: argument of type '\(container.typeName)' is not iterable")
        }
    }

    func binary(_ op: String, _ markedLeft: Value, _ markedRight: Value) throws -> Value {
        if op == "~" { return .string(markedLeft.pythonString + markedRight.pythonString) }
        switch (op, markedLeft, markedRight) {
        case ("+", .markup(let a), .markup(let b)): return .markup(a + b)
        case ("+", .markup(let a), .string(let b)): return .markup(a + Interpreter.escapeHTML(b))
        case ("+", .string(let a), .markup(let b)): return .markup(Interpreter.escapeHTML(a) + b)
        default: break
        }
        let (left, right) = (markedLeft.unmarked, markedRight.unmarked)
        if case .undefined(let u) = left { throw u.error }
        if case .undefined(let u) = right { throw u.error }
        let unsupported = TemplateError.runtime(
            "TypeError: unsupported operand type(s) for \(op): '\(left.typeName)' and '\(right.typeName)'")
        switch (op, left, right) {
        case ("+", .string(let a), .string(let b)): return .string(a + b)
        case ("+", .array(let a), .array(let b)): return .array(a + b)
        case ("*", .string(let s), _) where right.integer != nil:
            return .string(String(repeating: s, count: max(0, right.integer!)))
        case ("*", _, .string(let s)) where left.integer != nil:
            return .string(String(repeating: s, count: max(0, left.integer!)))
        case ("*", .array(let a), _) where right.integer != nil:
            return .array(Array(repeating: a, count: max(0, right.integer!)).flatMap { $0 })
        case ("%", .string(let format), _):
            return .string(try PythonFormat.percent(format, right))
        default:
            break
        }
        if let a = left.integer, let b = right.integer { return try integerArithmetic(op, a, b) }
        guard let a = left.number, let b = right.number else { throw unsupported }
        switch op {
        case "+": return .double(a + b)
        case "-": return .double(a - b)
        case "*": return .double(a * b)
        case "/":
            guard b != 0 else { throw TemplateError.runtime("ZeroDivisionError: float division by zero") }
            return .double(a / b)
        case "//":
            guard b != 0 else { throw TemplateError.runtime("ZeroDivisionError: float floor division by zero") }
            return .double((a / b).rounded(.down))
        case "%":
            guard b != 0 else { throw TemplateError.runtime("ZeroDivisionError: float modulo") }
            let r = fmod(a, b)
            return .double(r != 0 && (r < 0) != (b < 0) ? r + b : r)
        case "**": return .double(pow(a, b))
        default: throw unsupported
        }
    }

    func integerArithmetic(_ op: String, _ a: Int, _ b: Int) throws -> Value {
        let overflow = TemplateError.runtime("OverflowError: integer result out of range")
        switch op {
        case "+":
            let (r, o) = a.addingReportingOverflow(b)
            if o { throw overflow }
            return .int(r)
        case "-":
            let (r, o) = a.subtractingReportingOverflow(b)
            if o { throw overflow }
            return .int(r)
        case "*":
            let (r, o) = a.multipliedReportingOverflow(by: b)
            if o { throw overflow }
            return .int(r)
        case "/":
            guard b != 0 else { throw TemplateError.runtime("ZeroDivisionError: division by zero") }
            return .double(Double(a) / Double(b))
        case "//", "%":
            guard b != 0 else {
                throw TemplateError.runtime("ZeroDivisionError: integer division or modulo by zero")
            }
            if a == Int.min && b == -1 { throw overflow }
            var q = a / b
            var r = a % b
            if r != 0 && (r < 0) != (b < 0) {
                q -= 1
                r += b
            }
            return .int(op == "//" ? q : r)
        case "**":
            if b < 0 { return .double(pow(Double(a), Double(b))) }
            var result = 1
            for _ in 0..<b {
                let (r, o) = result.multipliedReportingOverflow(by: a)
                if o { throw overflow }
                result = r
                if result == 0 || result == 1 { break }
            }
            return .int(result)
        default:
            throw TemplateError.runtime("TypeError: unsupported operand type(s) for \(op): 'int' and 'int'")
        }
    }
}

extension Value {
    var isNone: Bool {
        if case .none = self { return true }
        return false
    }

    var isString: Bool {
        if case .string = self { return true }
        return false
    }

    static func element<T>(_ items: [T], _ index: Int) -> T? {
        let i = index < 0 ? index + items.count : index
        return i >= 0 && i < items.count ? items[i] : nil
    }

    /// Python's `seq[start:stop:step]`.
    static func pySlice<T>(_ items: [T], _ start: Int?, _ stop: Int?, _ step: Int?) throws -> [T] {
        let n = items.count
        let step = step ?? 1
        guard step != 0 else { throw TemplateError.runtime("ValueError: slice step cannot be zero") }
        func clamp(_ value: Int?, _ defaultValue: Int, low: Int, high: Int) -> Int {
            guard var v = value else { return defaultValue }
            if v < 0 { v += n }
            return Swift.min(Swift.max(v, low), high)
        }
        var result: [T] = []
        if step > 0 {
            var i = clamp(start, 0, low: 0, high: n)
            let end = clamp(stop, n, low: 0, high: n)
            while i < end {
                result.append(items[i])
                i += step
            }
        } else {
            var i = clamp(start, n - 1, low: -1, high: n - 1)
            let end = clamp(stop, -1, low: -1, high: n - 1)
            while i > end {
                result.append(items[i])
                i += step
            }
        }
        return result
    }
}
