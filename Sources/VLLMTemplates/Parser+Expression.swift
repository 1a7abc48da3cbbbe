/// Expressions, by jinja2's precedence: conditional < or < and < not < comparison < + - < ~ < * / // %
/// < ** < unary - + < postfix (. [] ()) < filters and tests.
extension Parser {
    mutating func parseTuple(withConditional: Bool = true, extraEnd: Set<String> = [], explicitParens: Bool = false)
        throws -> Expr
    {
        var items: [Expr] = []
        var isTuple = false
        while true {
            if !items.isEmpty { try expectOp(",") }
            if isTupleEnd(extraEnd) { break }
            items.append(withConditional ? try parseExpression() : try parseOr())
            if isOp(",") { isTuple = true } else { break }
        }
        if !isTuple {
            if let only = items.first { return only }
            if !explicitParens { throw fail("Expected an expression, got '\(describe(current.kind))'") }
        }
        return .tuple(items)
    }

    func isTupleEnd(_ extraEnd: Set<String>) -> Bool {
        switch current.kind {
        case .blockEnd, .variableEnd, .op(")"): return true
        case .name(let n): return extraEnd.contains(n)
        default: return false
        }
    }

    mutating func parseExpression() throws -> Expr {
        var expr = try parseOr()
        while skipName("if") {
            let condition = try parseOr()
            let orElse = skipName("else") ? try parseExpression() : nil
            expr = .conditional(then: expr, condition: condition, orElse: orElse)
        }
        return expr
    }

    mutating func parseOr() throws -> Expr {
        var left = try parseAnd()
        while skipName("or") { left = .or(left, try parseAnd()) }
        return left
    }

    mutating func parseAnd() throws -> Expr {
        var left = try parseNot()
        while skipName("and") { left = .and(left, try parseNot()) }
        return left
    }

    mutating func parseNot() throws -> Expr {
        if skipName("not") { return .not(try parseNot()) }
        return try parseCompare()
    }

    mutating func parseCompare() throws -> Expr {
        let left = try parseMath1()
        var operations: [(String, Expr)] = []
        while true {
            if case .op(let op) = current.kind, ["==", "!=", "<", "<=", ">", ">="].contains(op) {
                _ = advance()
                operations.append((op, try parseMath1()))
            } else if skipName("in") {
                operations.append(("in", try parseMath1()))
            } else if isName("not"), case .name("in") = peek.kind {
                _ = advance()
                _ = advance()
                operations.append(("not in", try parseMath1()))
            } else {
                break
            }
        }
        return operations.isEmpty ? left : .compare(left, operations)
    }

    mutating func parseMath1() throws -> Expr {
        var left = try parseConcat()
        while case .op(let op) = current.kind, op == "+" || op == "-" {
            _ = advance()
            left = .binary(op, left, try parseConcat())
        }
        return left
    }

    mutating func parseConcat() throws -> Expr {
        var left = try parseMath2()
        while skipOp("~") { left = .binary("~", left, try parseMath2()) }
        return left
    }

    mutating func parseMath2() throws -> Expr {
        var left = try parsePow()
        while case .op(let op) = current.kind, ["*", "/", "//", "%"].contains(op) {
            _ = advance()
            left = .binary(op, left, try parsePow())
        }
        return left
    }

    mutating func parsePow() throws -> Expr {
        var left = try parseUnary()
        while skipOp("**") { left = .binary("**", left, try parseUnary()) }
        return left
    }

    mutating func parseUnary(withFilter: Bool = true) throws -> Expr {
        var node: Expr
        if skipOp("-") {
            node = .unary("-", try parseUnary(withFilter: false))
        } else if skipOp("+") {
            node = .unary("+", try parseUnary(withFilter: false))
        } else {
            node = try parsePrimary()
        }
        node = try parsePostfix(node)
        if withFilter { node = try parseFilterExpr(node) }
        return node
    }

    mutating func parsePrimary() throws -> Expr {
        let token = current
        switch token.kind {
        case .name(let name):
            _ = advance()
            switch name {
            case "true", "True": return .bool(true)
            case "false", "False": return .bool(false)
            case "none", "None": return .none
            default: return .name(name)
            }
        case .string(var text):
            _ = advance()
            while case .string(let more) = current.kind {
                text += more
                _ = advance()
            }
            return .string(text)
        case .integer(let i):
            _ = advance()
            return .int(i)
        case .float(let d):
            _ = advance()
            return .double(d)
        case .op("("):
            _ = advance()
            let expr = try parseTuple(explicitParens: true)
            try expectOp(")")
            return expr
        case .op("["):
            _ = advance()
            var items: [Expr] = []
            while !isOp("]") {
                if !items.isEmpty { try expectOp(",") }
                if isOp("]") { break }
                items.append(try parseExpression())
            }
            try expectOp("]")
            return .list(items)
        case .op("{"):
            _ = advance()
            var pairs: [(Expr, Expr)] = []
            while !isOp("}") {
                if !pairs.isEmpty { try expectOp(",") }
                if isOp("}") { break }
                let key = try parseExpression()
                try expectOp(":")
                pairs.append((key, try parseExpression()))
            }
            try expectOp("}")
            return .dict(pairs)
        default:
            throw fail("unexpected '\(describe(token.kind))'")
        }
    }

    mutating func parsePostfix(_ start: Expr) throws -> Expr {
        var node = start
        while true {
            if isOp(".") || isOp("[") {
                node = try parseSubscript(node)
            } else if isOp("(") {
                node = .call(node, try parseCallArguments())
            } else {
                return node
            }
        }
    }

    mutating func parseFilterExpr(_ start: Expr) throws -> Expr {
        var node = start
        while true {
            if isOp("|") {
                _ = advance()
                node = .filter(node, try parseFilterCall())
            } else if isName("is") {
                node = try parseTest(node)
            } else if isOp("(") {
                node = .call(node, try parseCallArguments())
            } else {
                return node
            }
        }
    }

    mutating func parseSubscript(_ node: Expr) throws -> Expr {
        let token = advance()
        if case .op(".") = token.kind {
            switch current.kind {
            case .name(let name):
                _ = advance()
                return .attribute(node, name)
            case .integer(let i):
                _ = advance()
                return .item(node, .int(i))
            default:
                throw fail("expected name or number")
            }
        }
        var items: [Expr] = []
        while !isOp("]") {
            if !items.isEmpty { try expectOp(",") }
            items.append(try parseSubscribed(node))
        }
        try expectOp("]")
        if items.count == 1, case .slice = items[0] { return items[0] }
        if items.count == 1 { return .item(node, items[0]) }
        return .item(node, .tuple(items))
    }

    mutating func parseSubscribed(_ node: Expr) throws -> Expr {
        var start: Expr?
        if !isOp(":") {
            start = try parseExpression()
            if !isOp(":") { return start! }
        }
        _ = advance()
        var stop: Expr?
        if !isOp("]") && !isOp(",") && !isOp(":") { stop = try parseExpression() }
        var step: Expr?
        if skipOp(":") {
            if !isOp("]") && !isOp(",") { step = try parseExpression() }
        }
        return .slice(node, start: start, stop: stop, step: step)
    }

    mutating func parseCallArguments() throws -> [Argument] {
        try expectOp("(")
        var arguments: [Argument] = []
        while !isOp(")") {
            if !arguments.isEmpty { try expectOp(",") }
            if isOp(")") { break }
            if skipOp("*") {
                arguments.append(.star(try parseExpression()))
            } else if skipOp("**") {
                arguments.append(.doubleStar(try parseExpression()))
            } else if case .name(let name) = current.kind, case .op("=") = peek.kind {
                _ = advance()
                _ = advance()
                arguments.append(.keyword(name, try parseExpression()))
            } else {
                arguments.append(.positional(try parseExpression()))
            }
        }
        try expectOp(")")
        return arguments
    }

    mutating func parseDottedName() throws -> String {
        var name = try expectName()
        while isOp("."), case .name = peek.kind {
            _ = advance()
            name += "." + (try expectName())
        }
        return name
    }

    mutating func parseFilterCall() throws -> FilterCall {
        let token = current
        let name = try parseDottedName()
        let arguments = isOp("(") ? try parseCallArguments() : []
        return FilterCall(name: name, arguments: arguments, offset: token.offset)
    }

    /// A filter block's or block set's chain `upper|replace(...)`.
    mutating func parseFilterChain(leadingBar: Bool = false) throws -> [FilterCall] {
        var filters: [FilterCall] = []
        if leadingBar { try expectOp("|") }
        filters.append(try parseFilterCall())
        while skipOp("|") { filters.append(try parseFilterCall()) }
        return filters
    }

    mutating func parseTest(_ node: Expr) throws -> Expr {
        _ = advance()
        let isNegated = skipName("not")
        let token = current
        let name = try parseDottedName()
        var arguments: [Argument] = []
        if isOp("(") {
            arguments = try parseCallArguments()
        } else {
            switch current.kind {
            case .name("else"), .name("or"), .name("and"): break
            case .name("is"): throw fail("You cannot chain multiple tests with is")
            case .name, .string, .integer, .float, .op("("), .op("["), .op("{"):
                arguments = [.positional(try parsePostfix(try parsePrimary()))]
            default: break
            }
        }
        return .test(node, FilterCall(name: name, arguments: arguments, offset: token.offset), isNegated: isNegated)
    }
}
