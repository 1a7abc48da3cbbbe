/// Builds the statement tree from tokens, following jinja2's grammar (see `Parser+Expression.swift`).
struct Parser {
    let lexer: Lexer
    var tokens: [Token]
    var index = 0

    init(source: String) throws {
        var lexer = Lexer(source)
        tokens = try lexer.tokenize()
        self.lexer = lexer
    }

    var current: Token { tokens[index] }
    var peek: Token { tokens[min(index + 1, tokens.count - 1)] }

    mutating func advance() -> Token {
        let token = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return token
    }

    func fail(_ message: String, at token: Token? = nil) -> TemplateError {
        lexer.error(message, at: (token ?? current).offset)
    }

    func describe(_ kind: Token.Kind) -> String {
        switch kind {
        case .data: "template data"
        case .blockBegin: "begin of statement block"
        case .blockEnd: "end of statement block"
        case .variableBegin: "begin of print statement"
        case .variableEnd: "end of print statement"
        case .name(let n): n
        case .string: "string"
        case .integer: "integer"
        case .float: "float"
        case .op(let o): o
        case .end: "end of template"
        }
    }

    func isName(_ name: String) -> Bool {
        if case .name(name) = current.kind { return true }
        return false
    }

    func isOp(_ op: String) -> Bool {
        if case .op(op) = current.kind { return true }
        return false
    }

    mutating func skipName(_ name: String) -> Bool {
        guard isName(name) else { return false }
        _ = advance()
        return true
    }

    mutating func skipOp(_ op: String) -> Bool {
        guard isOp(op) else { return false }
        _ = advance()
        return true
    }

    mutating func expectOp(_ op: String) throws {
        guard skipOp(op) else { throw fail("expected token '\(op)', got '\(describe(current.kind))'") }
    }

    mutating func expectName() throws -> String {
        guard case .name(let name) = current.kind else {
            throw fail("expected name, got '\(describe(current.kind))'")
        }
        _ = advance()
        return name
    }

    mutating func expectBlockEnd() throws {
        guard current.kind == .blockEnd else {
            throw fail("expected token 'end of statement block', got '\(describe(current.kind))'")
        }
        _ = advance()
    }

    mutating func parseTemplate() throws -> [Node] {
        let (body, _) = try parseBody(until: [])
        try FilterCheck(lexer: lexer).check(body, isSoft: false)
        return body
    }

    /// Parses statements until a block whose first name is in `endTags`; consumes that name only.
    mutating func parseBody(until endTags: Set<String>) throws -> ([Node], String?) {
        var nodes: [Node] = []
        while true {
            let token = current
            switch token.kind {
            case .data(let text):
                _ = advance()
                nodes.append(.text(text))
            case .variableBegin:
                _ = advance()
                let expr = try parseTuple()
                guard current.kind == .variableEnd else {
                    throw fail("expected token 'end of print statement', got '\(describe(current.kind))'")
                }
                _ = advance()
                nodes.append(.output(expr))
            case .blockBegin:
                _ = advance()
                guard case .name(let tag) = current.kind else { throw fail("tag name expected") }
                if endTags.contains(tag) {
                    _ = advance()
                    return (nodes, tag)
                }
                nodes.append(try parseStatement(tag))
            case .end:
                if endTags.isEmpty { return (nodes, nil) }
                let expected = endTags.sorted().map { "'\($0)'" }.joined(separator: " or ")
                throw fail("Unexpected end of template. Jinja was looking for the following tags: \(expected).")
            default:
                throw fail("unexpected '\(describe(token.kind))'")
            }
        }
    }

    mutating func parseStatement(_ tag: String) throws -> Node {
        let tagToken = advance()
        switch tag {
        case "if": return try parseIf()
        case "for": return try parseFor()
        case "set": return try parseSet()
        case "macro": return try parseMacro()
        case "call": return try parseCall()
        case "filter":
            let filters = try parseFilterChain()
            try expectBlockEnd()
            let (body, _) = try parseBody(until: ["endfilter"])
            try expectBlockEnd()
            return .filterBlock(filters, body: body)
        case "with":
            var assignments: [(Target, Expr)] = []
            while current.kind != .blockEnd {
                if !assignments.isEmpty { try expectOp(",") }
                let target = try parseAssignTarget()
                try expectOp("=")
                assignments.append((target, try parseExpression()))
            }
            try expectBlockEnd()
            let (body, _) = try parseBody(until: ["endwith"])
            try expectBlockEnd()
            return .with(assignments, body: body)
        case "generation":
            // transformers' AssistantTracker tag: renders its body unchanged unless masks are requested.
            try expectBlockEnd()
            let (body, _) = try parseBody(until: ["endgeneration"])
            try expectBlockEnd()
            return .with([], body: body)
        case "break", "continue":
            try expectBlockEnd()
            return tag == "break" ? .loopBreak : .loopContinue
        default:
            throw fail("Encountered unknown tag '\(tag)'.", at: tagToken)
        }
    }

    mutating func parseIf() throws -> Node {
        var branches: [(condition: Expr, body: [Node])] = []
        var condition = try parseTuple(withConditional: false)
        while true {
            try expectBlockEnd()
            let (body, end) = try parseBody(until: ["elif", "else", "endif"])
            branches.append((condition, body))
            switch end {
            case "elif":
                condition = try parseTuple(withConditional: false)
            case "else":
                try expectBlockEnd()
                let (orElse, _) = try parseBody(until: ["endif"])
                try expectBlockEnd()
                return .ifChain(branches, orElse: orElse)
            default:
                try expectBlockEnd()
                return .ifChain(branches, orElse: [])
            }
        }
    }

    mutating func parseFor() throws -> Node {
        let target = try parseAssignTarget(extraEnd: ["in"])
        guard skipName("in") else { throw fail("expected 'in', got '\(describe(current.kind))'") }
        let iterable = try parseTuple(withConditional: false, extraEnd: ["recursive"])
        var condition: Expr?
        if skipName("if") { condition = try parseExpression() }
        let isRecursive = skipName("recursive")
        try expectBlockEnd()
        let (body, end) = try parseBody(until: ["endfor", "else"])
        var orElse: [Node] = []
        try expectBlockEnd()
        if end == "else" {
            (orElse, _) = try parseBody(until: ["endfor"])
            try expectBlockEnd()
        }
        return .forLoop(ForLoop(
            target: target, iterable: iterable, condition: condition, isRecursive: isRecursive, body: body,
            orElse: orElse))
    }

    mutating func parseSet() throws -> Node {
        let target: Target
        if case .name(let name) = current.kind, case .op(".") = peek.kind {
            _ = advance()
            _ = advance()
            target = .attribute(name, try expectName())
        } else {
            target = try parseAssignTarget()
        }
        if skipOp("=") {
            let value = try parseTuple()
            try expectBlockEnd()
            return .set(target, value)
        }
        let filters = isOp("|") ? try parseFilterChain(leadingBar: true) : []
        try expectBlockEnd()
        let (body, _) = try parseBody(until: ["endset"])
        try expectBlockEnd()
        return .setBlock(target, filters: filters, body: body)
    }

    mutating func parseSignature() throws -> [Parameter] {
        try expectOp("(")
        var parameters: [Parameter] = []
        while !isOp(")") {
            if !parameters.isEmpty { try expectOp(",") }
            if isOp(")") { break }
            let name = try expectName()
            let defaultValue = skipOp("=") ? try parseExpression() : nil
            parameters.append(Parameter(name: name, defaultValue: defaultValue))
        }
        try expectOp(")")
        return parameters
    }

    mutating func parseMacro() throws -> Node {
        let name = try expectName()
        let parameters = try parseSignature()
        try expectBlockEnd()
        let (body, _) = try parseBody(until: ["endmacro"])
        if case .name = current.kind { _ = advance() }
        try expectBlockEnd()
        return .macro(Macro(name: name, parameters: parameters, body: body))
    }

    mutating func parseCall() throws -> Node {
        let parameters = isOp("(") ? try parseSignature() : []
        let start = current
        let call = try parseExpression()
        guard case .call = call else { throw fail("expected call", at: start) }
        try expectBlockEnd()
        let (body, _) = try parseBody(until: ["endcall"])
        try expectBlockEnd()
        return .callBlock(call: call, parameters: parameters, body: body)
    }

    /// `name`, `a, b`, or `(a, b)` on the left of `=` or `in`.
    mutating func parseAssignTarget(extraEnd: Set<String> = []) throws -> Target {
        var targets: [Target] = []
        var isTuple = false
        while true {
            if !targets.isEmpty { try expectOp(",") }
            if case .name(let n) = current.kind, extraEnd.contains(n) { break }
            if isOp("=") || current.kind == .blockEnd { break }
            if skipOp("(") {
                let inner = try parseAssignTarget()
                try expectOp(")")
                targets.append(inner)
            } else {
                let token = current
                let name = try expectName()
                if ["true", "false", "none", "True", "False", "None"].contains(name) {
                    throw fail("can't assign to '\(name)'", at: token)
                }
                targets.append(.name(name))
            }
            if isOp(",") { isTuple = true } else { break }
        }
        if !isTuple, let only = targets.first { return only }
        if targets.isEmpty { throw fail("expected name, got '\(describe(current.kind))'") }
        return .tuple(targets)
    }
}
