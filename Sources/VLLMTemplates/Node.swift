/// A statement of a parsed template.
indirect enum Node: Sendable {
    case text(String)
    case output(Expr)
    case ifChain([(condition: Expr, body: [Node])], orElse: [Node])
    case forLoop(ForLoop)
    case set(Target, Expr)
    case setBlock(Target, filters: [FilterCall], body: [Node])
    case macro(Macro)
    case callBlock(call: Expr, parameters: [Parameter], body: [Node])
    case filterBlock([FilterCall], body: [Node])
    case with([(Target, Expr)], body: [Node])
    case loopBreak, loopContinue
}

/// `{% for target in iterable [if condition] [recursive] %}`.
struct ForLoop: Sendable {
    var target: Target
    var iterable: Expr
    var condition: Expr?
    var isRecursive: Bool
    var body: [Node]
    var orElse: [Node]
}

/// `{% macro name(parameters) %}`.
struct Macro: Sendable {
    var name: String
    var parameters: [Parameter]
    var body: [Node]
}

struct Parameter: Sendable {
    var name: String
    var defaultValue: Expr?
}

/// The left side of an assignment or a loop variable.
indirect enum Target: Sendable {
    case name(String)
    case attribute(String, String)
    case tuple([Target])
}

/// A filter application `|name(args)`, or a test `is name(args)`.
struct FilterCall: Sendable {
    var name: String
    var arguments: [Argument]
    var offset: Int
}

enum Argument: Sendable {
    case positional(Expr)
    case keyword(String, Expr)
    case star(Expr)
    case doubleStar(Expr)
}

/// An expression of a parsed template.
indirect enum Expr: Sendable {
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case name(String)
    case list([Expr])
    case tuple([Expr])
    case dict([(Expr, Expr)])
    case attribute(Expr, String)
    case item(Expr, Expr)
    case slice(Expr, start: Expr?, stop: Expr?, step: Expr?)
    case call(Expr, [Argument])
    case filter(Expr, FilterCall)
    case test(Expr, FilterCall, isNegated: Bool)
    case unary(String, Expr)
    case binary(String, Expr, Expr)
    case compare(Expr, [(String, Expr)])
    case and(Expr, Expr)
    case or(Expr, Expr)
    case not(Expr)
    case conditional(then: Expr, condition: Expr, orElse: Expr?)
}
