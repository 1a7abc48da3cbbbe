/// Why a chat template could not be parsed or rendered.
///
/// `raised` is the template's own `raise_exception("…")`: its message is meant for the API client
/// (the server answers 400 with it). The others are faults of the template or of its input.
public enum TemplateError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The source is not valid Jinja; `line` and `column` are 1-based.
    case syntax(message: String, line: Int, column: Int)
    /// `raise_exception(message)` was called by the template.
    case raised(String)
    /// Rendering failed the way Python would fail (undefined attribute, type error, …).
    case runtime(String)
    /// A model folder or template file could not be read.
    case load(String)

    public var description: String {
        switch self {
        case .syntax(let message, let line, let column): "template syntax error at line \(line), column \(column): \(message)"
        case .raised(let message): message
        case .runtime(let message): "template error: \(message)"
        case .load(let message): message
        }
    }

    /// The message alone, as jinja2 would put it in its exception.
    public var message: String {
        switch self {
        case .syntax(let message, _, _), .raised(let message), .runtime(let message), .load(let message): message
        }
    }
}
