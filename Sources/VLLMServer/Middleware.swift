import Foundation
import Hummingbird
import NIOCore

/// Answers every error the router or a middleware throws (unknown route, oversized body, …) with
/// OpenAI's error body instead of Hummingbird's, so clients see one error shape everywhere.
struct OpenAIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as OpenAIError {
            return error.response
        } catch is NIOTooManyBytesError {
            return OpenAIError(status: 413, message: "Request body is too large.", type: "Payload Too Large").response
        } catch let error as HTTPError {
            if error.status == .notFound {
                return OpenAIError.notFound(path: request.uri.path).response
            }
            let message = error.body ?? error.status.reasonPhrase
            return OpenAIError(status: error.status.code, message: message, type: error.status.reasonPhrase).response
        } catch {
            return OpenAIError.internalError("Internal server error: \(error)").response
        }
    }
}

/// `--api-key`: `/v1/*` needs `Authorization: Bearer <key>`, and so does every other route that
/// generates, embeds or scores (`/api/chat`, `/pooling`, `/score`, `/rerank`) — a deliberate departure:
/// vLLM guards `/v1/*` alone, which leaves its other generating routes open. `/health`, `/metrics` and
/// `/version` stay open, as vLLM's. Keys are compared in constant time so the time taken says nothing
/// about how much of a guess was right.
struct APIKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let keys: [[UInt8]]

    init(keys: [String]) {
        self.keys = keys.map { Array($0.utf8) }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        guard !keys.isEmpty, request.method != .options, Self.isGuarded(request.uri.path) else {
            return try await next(request, context)
        }
        let header = request.headers[.authorization] ?? ""
        let prefix = "Bearer "
        guard header.hasPrefix(prefix) else { return OpenAIError.unauthorized.response }
        let token = Array(header.utf8.dropFirst(prefix.utf8.count))
        var matched = false
        for key in keys where APIKeyCheck.equals(key, token) { matched = true }
        return matched ? try await next(request, context) : OpenAIError.unauthorized.response
    }

    /// Routes outside `/v1` that still need the key.
    static var guardedPaths: Set<String> { ["/api/chat", "/pooling", "/score", "/rerank", "/v2/rerank"] }

    static func isGuarded(_ path: String) -> Bool {
        path == "/v1" || path.hasPrefix("/v1/") || guardedPaths.contains(path)
    }

}

/// The API-key comparison, on its own so it can be tested.
public enum APIKeyCheck {
    /// Compares every byte whatever the first mismatch; only the lengths leak.
    public static func equals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}

/// `--allowed-origins`: CORS as vLLM configures Starlette's middleware (any method, any header,
/// credentials allowed), for a list of origins or `*`.
struct AllowedOriginsMiddleware<Context: RequestContext>: RouterMiddleware {
    let origins: [String]

    private func allowedOrigin(for origin: String) -> String? {
        if origins.contains("*") { return "*" }
        return origins.contains(origin) ? origin : nil
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        guard let origin = request.headers[.origin] else { return try await next(request, context) }
        guard let allowed = allowedOrigin(for: origin) else {
            if request.method == .options && request.headers[.accessControlRequestMethod] != nil {
                return Response(status: .badRequest, body: .init(byteBuffer: ByteBuffer(string: "Disallowed CORS origin")))
            }
            return try await next(request, context)
        }
        if request.method == .options, let method = request.headers[.accessControlRequestMethod] {
            var headers = HTTPFields()
            headers[.accessControlAllowOrigin] = allowed
            headers[.accessControlAllowMethods] = method
            headers[.accessControlAllowHeaders] = request.headers[.accessControlRequestHeaders] ?? "*"
            headers[.accessControlMaxAge] = "600"
            if allowed != "*" { headers[.vary] = "Origin" }
            return Response(status: .ok, headers: headers)
        }
        var response = try await next(request, context)
        response.headers[.accessControlAllowOrigin] = allowed
        if allowed != "*" { response.headers[.vary] = "Origin" }
        return response
    }
}

extension OpenAIError {
    var response: Response {
        Response(
            status: .init(code: status), headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
