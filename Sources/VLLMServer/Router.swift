import Foundation
import Hummingbird
import NIOCore

/// The HTTP routes of `swift-vllm serve`, on top of an `OpenAIServing`.
public enum OpenAIRouter {
    /// Every endpoint, behind the error, CORS and API-key middleware.
    public static func make(serving: OpenAIServing) -> Router<ServerRequestContext> {
        let router = Router(context: ServerRequestContext.self)
        let config = serving.config
        router.add(middleware: OpenAIErrorMiddleware())
        router.add(middleware: AllowedOriginsMiddleware(origins: config.allowedOrigins))
        router.add(middleware: APIKeyMiddleware(keys: config.apiKeys))

        router.get("/health") { _, _ in response(serving.health()) }
        router.get("/version") { _, _ in response(serving.version()) }
        router.get("/metrics") { _, _ in response(serving.prometheusMetrics()) }
        router.get("/v1/models") { _, _ in response(serving.listModels()) }
        router.post("/v1/completions") { request, context in
            try await respond(to: request, context: context, limit: config.maxRequestBodyBytes, generating: true, with: serving.completions)
        }
        router.post("/v1/chat/completions") { request, context in
            try await respond(to: request, context: context, limit: config.maxRequestBodyBytes, generating: true, with: serving.chatCompletions)
        }
        router.post("/v1/embeddings") { request, context in
            try await respond(to: request, context: context, limit: config.maxRequestBodyBytes, with: serving.embeddings)
        }
        router.post("/pooling") { request, context in
            try await respond(to: request, context: context, limit: config.maxRequestBodyBytes, with: serving.pooling)
        }
        for path in ["/score", "/v1/score"] {
            router.post(RouterPath(path)) { request, context in
                try await respond(to: request, context: context, limit: config.maxRequestBodyBytes, with: serving.score)
            }
        }
        for path in ["/rerank", "/v1/rerank", "/v2/rerank"] {
            router.post(RouterPath(path)) { request, context in
                try await respond(to: request, context: context, limit: config.maxRequestBodyBytes, with: serving.rerank)
            }
        }
        router.post("/tokenize") { request, context in
            try await respond(to: request, context: context, limit: config.maxRequestBodyBytes, with: serving.tokenizeEndpoint)
        }
        router.post("/detokenize") { request, context in
            try await respond(to: request, context: context, limit: config.maxRequestBodyBytes, with: serving.detokenizeEndpoint)
        }
        router.post("/api/chat") { request, context in
            try await respond(to: request, context: context, limit: config.maxRequestBodyBytes, generating: true, with: serving.simpleChat)
        }
        // vLLM registers these only with VLLM_ALLOW_RUNTIME_LORA_UPDATING; without it they are unknown routes (404).
        let loraRoutes = config.allowRuntimeLoRAUpdating ? ["/v1/load_lora_adapter", "/v1/unload_lora_adapter"] : []
        if config.allowRuntimeLoRAUpdating {
            serving.logger.warning(
                "LoRA dynamic loading & unloading is enabled in the API server. This should ONLY be used for local development!")
            router.post("/v1/load_lora_adapter") { request, context in
                if let refusal = refuseUnlessJSON(request) { return refusal }
                return try await respond(to: request, context: context, limit: config.maxRequestBodyBytes, with: serving.loadLoRAAdapter)
            }
            router.post("/v1/unload_lora_adapter") { request, context in
                if let refusal = refuseUnlessJSON(request) { return refusal }
                return try await respond(to: request, context: context, limit: config.maxRequestBodyBytes, with: serving.unloadLoRAAdapter)
            }
        }
        router.head("/health") { _, _ in
            serving.state.isDraining ? OpenAIError.shuttingDown.response : Response(status: .ok)
        }
        // Another method on a known route is a 405 naming the allowed ones (Starlette's answer), not a 404.
        let routes: [(String, [HTTPRequest.Method])] = [
            ("/health", [.get, .head]), ("/version", [.get]), ("/metrics", [.get]), ("/v1/models", [.get]),
            ("/v1/completions", [.post]), ("/v1/chat/completions", [.post]), ("/tokenize", [.post]),
            ("/detokenize", [.post]), ("/api/chat", [.post]), ("/v1/embeddings", [.post]), ("/pooling", [.post]),
            ("/score", [.post]), ("/v1/score", [.post]), ("/rerank", [.post]), ("/v1/rerank", [.post]), ("/v2/rerank", [.post]),
        ] + loraRoutes.map { ($0, [.post]) }
        for (path, allowed) in routes {
            for method in [HTTPRequest.Method.get, .post, .put, .delete, .patch] where !allowed.contains(method) {
                router.on(RouterPath(path), method: method) { _, _ in
                    var answer = OpenAIError.methodNotAllowed.response
                    answer.headers[.allow] = allowed.map(\.rawValue).joined(separator: ", ")
                    return answer
                }
            }
        }
        return router
    }

    /// Reads the body (413 past `limit`), runs the endpoint, and writes its answer. A `generating`
    /// endpoint is cancelled when its client goes away — a stream at once (below), a whole answer while
    /// it is being generated — so the engine aborts the request instead of generating for nobody. The
    /// connection stays open for the client's next request (`ConnectionWatchHandler` sees a client leave
    /// without reading the connection).
    static func respond(
        to request: Request, context: ServerRequestContext, limit: Int, generating: Bool = false,
        with endpoint: @escaping @Sendable (Data) async -> ServingResponse
    ) async throws -> Response {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: limit)
        } catch is NIOTooManyBytesError {
            return OpenAIError.bodyTooLarge(limit: limit).response
        }
        let data = Data(buffer.readableBytesView)
        let closed = generating ? await ConnectionWatchHandler.signal(of: context.channel) : nil
        if let closed, !asksForStream(data) {
            do {
                return response(try await closed.cancelling { await endpoint(data) })
            } catch {
                return OpenAIError.badRequest("Client disconnected").response
            }
        }
        let result = await endpoint(data)
        guard case .stream(let stream) = result else { return response(result) }
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-cache"],
            body: ResponseBody { writer in
                // A client that goes away cancels the generation at once, not at the next write.
                func emit() async throws {
                    try await stream.produce { event in
                        do {
                            try await writer.write(ByteBuffer(string: event))
                        } catch {
                            throw StreamEmitError(underlying: error)
                        }
                    }
                }
                if let closed { try await closed.cancelling(emit) } else { try await emit() }
                try await writer.finish(nil)
            })
    }

    /// vLLM's `validate_json_request` (on the LoRA routes): a media type other than application/json is a 400.
    static func refuseUnlessJSON(_ request: Request) -> Response? {
        let contentType = (request.headers[.contentType] ?? "").lowercased()
        let mediaType = contentType.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        guard mediaType != "application/json" else { return nil }
        return OpenAIError.invalidBody("1 validation error:\n  Unsupported Media Type: Only 'application/json' is allowed").response
    }

    /// Whether a request body says `"stream": true` (a body that does not parse is answered by the endpoint).
    static func asksForStream(_ body: Data) -> Bool {
        struct StreamField: Decodable { var stream: Bool? }
        return (try? JSONDecoder().decode(StreamField.self, from: body))?.stream == true
    }

    static func response(_ result: ServingResponse) -> Response {
        switch result {
        case .json(let status, let body):
            return Response(
                status: .init(code: status), headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: body)))
        case .text(let status, let body, let contentType):
            return Response(
                status: .init(code: status), headers: contentType.isEmpty ? [:] : [.contentType: contentType],
                body: .init(byteBuffer: ByteBuffer(string: body)))
        case .stream:
            return OpenAIError.internalError("A stream cannot be answered here.").response
        }
    }
}
