import Foundation

/// Variables of one jinja2 frame. A `for` iteration, a macro call and a `with` block each get a child
/// frame; `if` does not. Macros keep a reference to the frame they were defined in (jinja2 resolves
/// their free names when called, so a later top-level `set` is seen).
final class Scope {
    var variables: [String: Value] = [:]
    let parent: Scope?

    init(parent: Scope?) { self.parent = parent }

    func lookup(_ name: String) -> Value? {
        var scope: Scope? = self
        while let current = scope {
            if let value = current.variables[name] { return value }
            scope = current.parent
        }
        return nil
    }
}

/// Runs a parsed template once. Not shared between threads: each render makes its own.
final class Interpreter {
    enum Flow { case normal, breakLoop, continueLoop }

    var output = ""
    let globals: Scope
    /// Every frame made during the render, so that `finish()` can break the frame → macro → frame cycles.
    private var scopes: [Scope] = []
    let now: Date
    let timeZone: TimeZone

    init(now: Date, timeZone: TimeZone) {
        self.now = now
        self.timeZone = timeZone
        globals = Scope(parent: nil)
        scopes.append(globals)
        installGlobals()
    }

    func makeScope(parent: Scope) -> Scope {
        let scope = Scope(parent: parent)
        scopes.append(scope)
        return scope
    }

    func finish() {
        for scope in scopes { scope.variables.removeAll() }
        scopes.removeAll()
    }

    func capture(_ body: () throws -> Void) rethrows -> String {
        let saved = output
        output = ""
        defer { output = saved }
        try body()
        return output
    }

    @discardableResult
    func execute(_ nodes: [Node], _ scope: Scope) throws -> Flow {
        for node in nodes {
            let flow = try execute(node, scope)
            if flow != .normal { return flow }
        }
        return .normal
    }

    func execute(_ node: Node, _ scope: Scope) throws -> Flow {
        switch node {
        case .text(let text):
            output += text
        case .output(let expr):
            output += try evaluate(expr, scope).pythonString
        case .ifChain(let branches, let orElse):
            for branch in branches where try evaluate(branch.condition, scope).isTruthy {
                return try execute(branch.body, scope)
            }
            return try execute(orElse, scope)
        case .forLoop(let loop):
            return try executeFor(loop, scope)
        case .set(let target, let expr):
            try assign(target, try evaluate(expr, scope), scope)
        case .setBlock(let target, let filters, let body):
            var value = Value.string(try capture { try execute(body, scope) })
            for filter in filters { value = try applyFilter(filter, value, scope) }
            try assign(target, value, scope)
        case .macro(let macro):
            scope.variables[macro.name] = .function(makeMacro(macro, scope))
        case .callBlock(let call, let parameters, let body):
            guard case .call(let calleeExpr, let argumentExprs) = call else { return .normal }
            let caller = makeMacro(Macro(name: "caller", parameters: parameters, body: body), scope)
            var arguments = try evaluateArguments(argumentExprs, scope)
            arguments.keyword.append(("caller", .function(caller)))
            output += try callValue(try evaluate(calleeExpr, scope), arguments).pythonString
        case .filterBlock(let filters, let body):
            var value = Value.string(try capture { try execute(body, scope) })
            for filter in filters { value = try applyFilter(filter, value, scope) }
            output += value.pythonString
        case .with(let assignments, let body):
            let inner = makeScope(parent: scope)
            for (target, expr) in assignments { try assign(target, try evaluate(expr, scope), inner) }
            return try execute(body, inner)
        case .loopBreak:
            return .breakLoop
        case .loopContinue:
            return .continueLoop
        }
        return .normal
    }

    func assign(_ target: Target, _ value: Value, _ scope: Scope) throws {
        switch target {
        case .name(let name):
            scope.variables[name] = value
        case .attribute(let name, let attribute):
            guard case .object(let object) = scope.lookup(name) ?? .none else {
                throw TemplateError.runtime("cannot assign attribute on non-namespace object")
            }
            try object.setAttribute(attribute, value)
        case .tuple(let targets):
            let items = try iterate(value)
            guard items.count == targets.count else {
                throw TemplateError.runtime(
                    items.count > targets.count
                        ? "ValueError: too many values to unpack (expected \(targets.count))"
                        : "ValueError: not enough values to unpack (expected \(targets.count), got \(items.count))")
            }
            for (t, v) in zip(targets, items) { try assign(t, v, scope) }
        }
    }

    func executeFor(_ loop: ForLoop, _ scope: Scope) throws -> Flow {
        var items = try iterate(try evaluate(loop.iterable, scope))
        if let condition = loop.condition {
            items = try items.filter { item in
                let probe = makeScope(parent: scope)
                try assign(loop.target, item, probe)
                return try evaluate(condition, probe).isTruthy
            }
        }
        if items.isEmpty {
            try execute(loop.orElse, makeScope(parent: scope))
            return .normal
        }
        let state = LoopState(items: items)
        for (index, item) in items.enumerated() {
            state.index0 = index
            let inner = makeScope(parent: scope)
            try assign(loop.target, item, inner)
            inner.variables["loop"] = .object(state)
            if try execute(loop.body, inner) == .breakLoop { break }
        }
        return .normal
    }

    /// A macro (or a call block's `caller`) as a function closing over its defining frame.
    func makeMacro(_ macro: Macro, _ scope: Scope) -> Function {
        Function(macro.name) { [unowned self] arguments in
            let frame = self.makeScope(parent: scope)
            var extra: [Value] = []
            for (index, value) in arguments.positional.enumerated() {
                if index < macro.parameters.count {
                    frame.variables[macro.parameters[index].name] = value
                } else {
                    extra.append(value)
                }
            }
            var kwargs = PyDict()
            for (key, value) in arguments.keyword {
                if macro.parameters.contains(where: { $0.name == key }) || key == "caller" {
                    frame.variables[key] = value
                } else {
                    kwargs[.string(key)] = value
                }
            }
            for parameter in macro.parameters where frame.variables[parameter.name] == nil {
                if let defaultValue = parameter.defaultValue {
                    frame.variables[parameter.name] = try self.evaluate(defaultValue, frame)
                } else {
                    frame.variables[parameter.name] = .undefined(
                        "parameter '\(parameter.name)' was not provided")
                }
            }
            frame.variables["varargs"] = .array(extra)
            frame.variables["kwargs"] = .dict(kwargs)
            return .string(try self.capture { try self.execute(macro.body, frame) })
        }
    }

    /// Python iteration: lists, a dict's keys, a string's characters; Undefined is empty.
    func iterate(_ value: Value) throws -> [Value] {
        switch value.unmarked {
        case .undefined: return []
        case .array(let items): return items
        case .dict(let dict): return dict.keys
        case .string(let s): return s.unicodeScalars.map { .string(String($0)) }
        case .object(let object as Iterable): return object.elements()
        default: throw TemplateError.runtime("TypeError: '\(value.typeName)' object is not iterable")
        }
    }
}

/// Objects a template may iterate but not index or measure.
protocol Iterable: TemplateObject {
    func elements() -> [Value]
}

/// What jinja2's `select`, `map`, `items`, `unique`, `batch`, … return: a Python generator (or a reverse
/// iterator), which loops and `|list` accept but `|length`, indexing, `|last` and `|tojson` refuse.
final class Generator: Iterable {
    let items: [Value]
    let typeName: String
    init(_ items: [Value], typeName: String = "generator") {
        self.items = items
        self.typeName = typeName
    }
    func elements() -> [Value] { items }
    func attribute(_ name: String) -> Value? { nil }
    var pythonRepr: String { "<\(typeName) object>" }
}

/// The `loop` variable of a `{% for %}`.
final class LoopState: TemplateObject {
    let items: [Value]
    var index0 = 0
    private var lastChanged: [Value]?

    init(items: [Value]) { self.items = items }
    var typeName: String { "LoopContext" }

    func attribute(_ name: String) -> Value? {
        let length = items.count
        switch name {
        case "index0": return .int(index0)
        case "index": return .int(index0 + 1)
        case "revindex": return .int(length - index0)
        case "revindex0": return .int(length - index0 - 1)
        case "first": return .bool(index0 == 0)
        case "last": return .bool(index0 == length - 1)
        case "length": return .int(length)
        case "depth": return .int(1)
        case "depth0": return .int(0)
        case "previtem":
            return index0 > 0 ? items[index0 - 1] : .undefined("there is no previous item")
        case "nextitem":
            return index0 + 1 < length ? items[index0 + 1] : .undefined("there is no next item")
        case "cycle":
            return .function(Function("cycle") { arguments in
                guard !arguments.positional.isEmpty else {
                    throw TemplateError.runtime("TypeError: no items for cycling given")
                }
                return arguments.positional[self.index0 % arguments.positional.count]
            })
        case "changed":
            return .function(Function("changed") { arguments in
                let values = arguments.positional
                if let last = self.lastChanged, Value.array(last).pyEquals(.array(values)) { return .bool(false) }
                self.lastChanged = values
                return .bool(true)
            })
        default: return nil
        }
    }

    var pythonRepr: String { "<LoopContext \(index0 + 1)/\(items.count)>" }
}
