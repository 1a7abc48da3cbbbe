import Foundation
import VLLMCore

/// An error answered to the client as OpenAI's (and vLLM's) body:
/// `{"error": {"message", "type", "param", "code"}}`, `code` being the HTTP status.
///
/// The `type` strings are vLLM's: "BadRequestError" for a request the server understood but
/// refuses, "Bad Request" (the HTTP phrase) where the body itself could not be decoded,
/// "NotFoundError" for an unknown model, and so on.
public struct OpenAIError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: Int
    public var message: String
    public var type: String
    public var param: String?

    public init(status: Int, message: String, type: String, param: String? = nil) {
        self.status = status
        self.message = message
        self.type = type
        self.param = param
    }

    public var description: String { "\(status) \(type): \(message)" }

    /// A request that decoded but is out of range or inconsistent (vLLM's `create_error_response`).
    public static func badRequest(_ message: String, param: String? = nil) -> OpenAIError {
        OpenAIError(status: 400, message: message, type: "BadRequestError", param: param)
    }

    /// A body that is not JSON or has a field of the wrong type (vLLM's validation handler).
    public static func invalidBody(_ message: String, param: String? = nil) -> OpenAIError {
        OpenAIError(status: 400, message: message, type: "Bad Request", param: param)
    }

    /// vLLM's "InvalidUserInput" 400s (the LoRA adapter routes).
    public static func invalidUserInput(_ message: String) -> OpenAIError {
        OpenAIError(status: 400, message: message, type: "InvalidUserInput")
    }

    public static func validation(_ error: VLLMValidationError) -> OpenAIError {
        .badRequest(error.message, param: error.parameter)
    }

    public static func modelNotFound(_ name: String?) -> OpenAIError {
        OpenAIError(
            status: 404, message: "The model `\(name ?? "")` does not exist.", type: "NotFoundError", param: "model")
    }

    public static let unauthorized = OpenAIError(status: 401, message: "Unauthorized", type: "Unauthorized")

    public static func bodyTooLarge(limit: Int) -> OpenAIError {
        OpenAIError(
            status: 413, message: "Request body is larger than the server's limit of \(limit) bytes.",
            type: "Payload Too Large")
    }

    public static let shuttingDown = OpenAIError(
        status: 503, message: "The server is shutting down and accepts no new requests.",
        type: "ServiceUnavailableError")

    public static func engineUnavailable(_ reason: String) -> OpenAIError {
        OpenAIError(
            status: 503, message: "The engine cannot take the request now: \(reason)", type: "ServiceUnavailableError")
    }

    public static func internalError(_ message: String) -> OpenAIError {
        OpenAIError(status: 500, message: message, type: "InternalServerError")
    }

    /// A known route asked with another method (Starlette's 405, with an `Allow` header).
    public static let methodNotAllowed = OpenAIError(status: 405, message: "Method Not Allowed", type: "Method Not Allowed")

    public static func notFound(path: String) -> OpenAIError {
        OpenAIError(status: 404, message: "No route for \(path).", type: "Not Found")
    }

    /// The JSON body, `{"error": {...}}`.
    public var body: Data {
        let payload = ErrorResponseBody(error: .init(message: message, type: type, param: param, code: status))
        return (try? JSONCoding.encode(payload)) ?? Data("{\"error\":{\"message\":\"internal error\"}}".utf8)
    }

    /// Turns a `DecodingError` into a message naming the field, as a client needs to fix it.
    static func decoding(_ error: DecodingError) -> OpenAIError {
        func path(_ codingPath: [any CodingKey]) -> String {
            var text = ""
            for key in codingPath {
                if let index = key.intValue {
                    text += "[\(index)]"
                } else {
                    text += text.isEmpty ? key.stringValue : ".\(key.stringValue)"
                }
            }
            return text
        }
        switch error {
        case .typeMismatch(let type, let context):
            let field = path(context.codingPath)
            return .invalidBody(
                "Invalid type for `\(field.isEmpty ? "body" : field)`: expected \(typeDescription(type)).",
                param: field.isEmpty ? nil : field)
        case .valueNotFound(let type, let context):
            let field = path(context.codingPath)
            return .invalidBody(
                "Invalid value for `\(field)`: expected \(typeDescription(type)), got null.", param: field)
        case .keyNotFound(let key, let context):
            let field = path(context.codingPath + [key])
            return .invalidBody("Field required: `\(field)`.", param: field)
        case .dataCorrupted(let context):
            let field = path(context.codingPath)
            if field.isEmpty {
                let detail = (context.underlyingError as NSError?)?.localizedDescription ?? context.debugDescription
                return .invalidBody("The request body is not valid JSON: \(detail)")
            }
            return .invalidBody("Invalid value for `\(field)`: \(context.debugDescription)", param: field)
        @unknown default:
            return .invalidBody("Invalid request body: \(error)")
        }
    }

    private static func typeDescription(_ type: Any.Type) -> String {
        if type is String.Type { return "a string" }
        if type is Int.Type { return "an integer" }
        if type is Double.Type || type is Float.Type { return "a number" }
        if type is Bool.Type { return "a boolean" }
        let name = String(describing: type)
        if name.hasPrefix("Array") || name.hasPrefix("[") { return "an array" }
        if name.hasPrefix("Dictionary") || name.contains("KeyedDecodingContainer") { return "an object" }
        return "a value of type \(name)"
    }
}

/// vLLM's `ErrorResponse`.
struct ErrorResponseBody: Codable, Sendable {
    struct Info: Codable, Sendable {
        var message: String
        var type: String
        var param: String?
        var code: Int

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(message, forKey: .message)
            try container.encode(type, forKey: .type)
            try container.encode(param, forKey: .param)
            try container.encode(code, forKey: .code)
        }
    }
    var error: Info
}

/// The JSON encoder and decoder every endpoint uses, configured once.
enum JSONCoding {
    static func encode(_ value: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return try encoder.encode(value)
    }

    static func encodeString(_ value: some Encodable) -> String {
        guard let data = try? encode(value) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    /// Decodes a request body; every failure is an `OpenAIError` naming what was wrong.
    static func decodeRequest<T: Decodable>(_ type: T.Type, from body: Data) throws(OpenAIError) -> T {
        if body.isEmpty { throw .invalidBody("The request body is empty; expected a JSON object.") }
        let data = DuplicateKeys.lastWins(body)
        // Decoded untyped first, so "not JSON" is told apart from "a field of the wrong type".
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw .invalidBody("The request body is not valid JSON.")
        }
        guard let object = value.objectValue else {
            throw .invalidBody("The request body must be a JSON object, got \(value.typeName).")
        }
        let decoder = JSONDecoder()
        decoder.userInfo[.requestBody] = data
        do {
            return try decoder.decode(T.self, from: data)
        } catch DecodingError.dataCorrupted(let context) where context.codingPath.isEmpty {
            // Foundation reports a number its field cannot hold (1.5 for an integer, 2^70 for an Int, 1e39
            // for a Float) without saying where: find the field by decoding without each number in turn.
            for key in object.keys.sorted() {
                guard case .some(let value) = object[key], value.isNumber else { continue }
                var without = object
                without[key] = nil
                guard let trimmed = try? JSONEncoder().encode(JSONValue.object(without)),
                      (try? JSONDecoder().decode(T.self, from: trimmed)) != nil else { continue }
                without[key] = .double(0.5)
                let takesFractions = (try? JSONEncoder().encode(JSONValue.object(without)))
                    .map { (try? JSONDecoder().decode(T.self, from: $0)) != nil } ?? false
                throw .invalidBody(numberMessage(key, value, takesFractions: takesFractions), param: key)
            }
            throw .invalidBody("Invalid value for a field: a number out of its field's range.")
        } catch let error as FieldTypeError {
            let field = error.codingPath.map(\.stringValue).joined(separator: ".")
            throw .invalidBody("Invalid type for `\(field)`: expected \(error.expected).", param: field)
        } catch let error as OpenAIError {
            throw error
        } catch let error as VLLMValidationError {
            throw .validation(error)
        } catch let error as DecodingError {
            throw .decoding(error)
        } catch {
            throw .invalidBody("Invalid request body: \(error)")
        }
    }

    /// What is wrong with number `value` of `key` (whose field takes fractions or not), worded as pydantic
    /// words it for vLLM where it has a word for it.
    private static func numberMessage(_ key: String, _ value: JSONValue, takesFractions: Bool) -> String {
        let number: Double
        switch value {
        case .int(let int): number = Double(int)
        case .double(let double): number = double
        default: return "Invalid value for `\(key)`: expected a number."
        }
        if takesFractions {
            return "Invalid value for `\(key)`: \(number) is out of range (at most \(Float.greatestFiniteMagnitude) in magnitude)."
        }
        if number.rounded() != number { return "Invalid value for `\(key)`: expected an integer, got \(number)." }
        return "Invalid value for `\(key)`: Input should be "
            + (number > 0 ? "less than or equal to \(Int64.max)." : "greater than or equal to \(Int64.min).")
    }
}
