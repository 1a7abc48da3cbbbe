/// A request parameter that is out of range, worded as vLLM words it, so a server can answer 400
/// with the same message a vLLM client would see.
public struct VLLMValidationError: Error, CustomStringConvertible, Equatable, Sendable {
    public var message: String
    /// The request field at fault (vLLM's `parameter`), where one is known.
    public var parameter: String?

    public init(_ message: String, parameter: String? = nil) {
        self.message = message
        self.parameter = parameter
    }

    public var description: String { message }
}
