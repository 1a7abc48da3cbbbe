/// jinja2's compile-time check for unknown filter and test names. As in jinja2, a name used inside an
/// `if` statement or an inline `… if … else …` (its "soft" frames) is only an error when it runs, while
/// loops, macros, call/filter/with blocks and block sets open frames where it is a syntax error again.
struct FilterCheck {
    let lexer: Lexer

    func check(_ nodes: [Node], isSoft: Bool) throws {
        for node in nodes { try check(node, isSoft: isSoft) }
    }

    func check(_ node: Node, isSoft: Bool) throws {
        switch node {
        case .text, .loopBreak, .loopContinue: break
        case .output(let expr): try check(expr, isSoft: isSoft)
        case .ifChain(let branches, let orElse):
            for branch in branches {
                try check(branch.condition, isSoft: true)
                try check(branch.body, isSoft: true)
            }
            try check(orElse, isSoft: true)
        case .forLoop(let loop):
            try check(loop.iterable, isSoft: isSoft)
            if let condition = loop.condition { try check(condition, isSoft: false) }
            try check(loop.body, isSoft: false)
            try check(loop.orElse, isSoft: false)
        case .set(_, let expr): try check(expr, isSoft: isSoft)
        case .setBlock(_, let filters, let body):
            for filter in filters { try checkName(filter, isFilter: true, isSoft: isSoft) }
            try check(body, isSoft: false)
        case .macro(let macro):
            for parameter in macro.parameters { if let d = parameter.defaultValue { try check(d, isSoft: false) } }
            try check(macro.body, isSoft: false)
        case .callBlock(let call, let parameters, let body):
            try check(call, isSoft: isSoft)
            for parameter in parameters { if let d = parameter.defaultValue { try check(d, isSoft: false) } }
            try check(body, isSoft: false)
        case .filterBlock(let filters, let body):
            for filter in filters { try checkName(filter, isFilter: true, isSoft: false) }
            try check(body, isSoft: false)
        case .with(let assignments, let body):
            for (_, expr) in assignments { try check(expr, isSoft: isSoft) }
            try check(body, isSoft: false)
        }
    }

    func check(_ expr: Expr, isSoft: Bool) throws {
        switch expr {
        case .none, .bool, .int, .double, .string, .name: break
        case .list(let items), .tuple(let items): for item in items { try check(item, isSoft: isSoft) }
        case .dict(let pairs):
            for (k, v) in pairs {
                try check(k, isSoft: isSoft)
                try check(v, isSoft: isSoft)
            }
        case .attribute(let base, _): try check(base, isSoft: isSoft)
        case .item(let base, let key):
            try check(base, isSoft: isSoft)
            try check(key, isSoft: isSoft)
        case .slice(let base, let start, let stop, let step):
            try check(base, isSoft: isSoft)
            for part in [start, stop, step] { if let part { try check(part, isSoft: isSoft) } }
        case .call(let callee, let arguments):
            try check(callee, isSoft: isSoft)
            try check(arguments, isSoft: isSoft)
        case .filter(let base, let filter):
            try check(base, isSoft: isSoft)
            try checkName(filter, isFilter: true, isSoft: isSoft)
        case .test(let base, let test, _):
            try check(base, isSoft: isSoft)
            try checkName(test, isFilter: false, isSoft: isSoft)
        case .unary(_, let operand), .not(let operand): try check(operand, isSoft: isSoft)
        case .binary(_, let left, let right), .and(let left, let right), .or(let left, let right):
            try check(left, isSoft: isSoft)
            try check(right, isSoft: isSoft)
        case .compare(let first, let operations):
            try check(first, isSoft: isSoft)
            for (_, operand) in operations { try check(operand, isSoft: isSoft) }
        case .conditional(let then, let condition, let orElse):
            try check(then, isSoft: true)
            try check(condition, isSoft: true)
            if let orElse { try check(orElse, isSoft: true) }
        }
    }

    func check(_ arguments: [Argument], isSoft: Bool) throws {
        for argument in arguments {
            switch argument {
            case .positional(let e), .keyword(_, let e), .star(let e), .doubleStar(let e): try check(e, isSoft: isSoft)
            }
        }
    }

    func checkName(_ call: FilterCall, isFilter: Bool, isSoft: Bool) throws {
        try check(call.arguments, isSoft: isSoft)
        let known = isFilter ? Interpreter.filterNames : Interpreter.testNames
        guard isSoft || known.contains(call.name) else {
            throw lexer.error("No \(isFilter ? "filter" : "test") named '\(call.name)'.", at: call.offset)
        }
    }
}
