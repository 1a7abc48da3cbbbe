import Foundation
import Logging
import VLLMCore
import VLLMEngine

/// What an endpoint answers: a JSON body, plain text, or a stream of server-sent events.
///
/// Independent of the HTTP library, so `run-batch` calls the same endpoints in-process.
public enum ServingResponse: Sendable {
    case json(status: Int, body: Data)
    /// `contentType` empty: no Content-Type header (Starlette's bare `Response`).
    case text(status: Int, body: String, contentType: String)
    case stream(SSEStream)

    static func ok(_ value: some Encodable) -> ServingResponse {
        do {
            return .json(status: 200, body: try JSONCoding.encode(value))
        } catch {
            return .error(.internalError("Could not encode the response: \(error)"))
        }
    }

    static func error(_ error: OpenAIError) -> ServingResponse {
        .json(status: error.status, body: error.body)
    }

    public var status: Int {
        switch self {
        case .json(let status, _), .text(let status, _, _): status
        case .stream: 200
        }
    }
}

/// A server-sent event stream: `data: {json}\n\n` events ending with `data: [DONE]\n\n`.
///
/// `produce` runs when the HTTP layer is ready to write; it hands each event to `emit`, which
/// throws once the client has gone, and that ends (and aborts) the generation.
public struct SSEStream: Sendable {
    let produce: @Sendable (_ emit: (String) async throws -> Void) async throws -> Void

    static func event(_ value: some Encodable) -> String {
        "data: \(JSONCoding.encodeString(value))\n\n"
    }

    static let done = "data: [DONE]\n\n"

    /// Collects every event, for tests and for callers that cannot stream.
    public func collect() async throws -> [String] {
        var events: [String] = []
        try await produce { events.append($0) }
        return events
    }
}

/// The OpenAI-compatible API, one method per endpoint, on top of an `EngineClient`.
///
/// Each method decodes and validates its body (every failure an `OpenAIError`), renders and
/// tokenizes the prompt, submits to the engine and turns its outputs into OpenAI's shapes.
public final class OpenAIServing: Sendable {
    public let model: ServedModel
    public let config: ServerConfig
    public let metrics: ServerMetrics
    public let state: ServerState
    /// The LoRA adapters requests may name (`--lora-modules`, `/v1/load_lora_adapter`).
    public let loras = LoRARegistry()
    let logger: Logger

    /// Reported in `system_fingerprint` and `/version`.
    public static let version = "0.1.0"
    static let systemFingerprint = "swift-vllm-\(version)"

    public init(model: ServedModel, config: ServerConfig, state: ServerState = ServerState(), logger: Logger? = nil) {
        self.model = model
        self.config = config
        self.metrics = ServerMetrics(modelName: model.primaryName, maxLoras: config.maxLoras)
        self.state = state
        self.logger = logger ?? Logger(label: "swift-vllm.server")
    }

    var engine: any EngineClient { model.engine }
    var tokenizer: any TextTokenizer { model.tokenizer }

    /// Runs an endpoint, turning any thrown `OpenAIError` into its response and counting the
    /// request as in flight until its response (or stream) is done.
    func serve(_ body: () async throws(OpenAIError) -> ServingResponse) async -> ServingResponse {
        do {
            try state.begin()
        } catch {
            return .error(error)
        }
        let response: ServingResponse
        do {
            response = try await body()
        } catch {
            state.end()
            return .error(error)
        }
        guard case .stream(let stream) = response else {
            state.end()
            return response
        }
        let state = self.state
        return .stream(
            SSEStream { emit in
                defer { state.end() }
                try await stream.produce(emit)
            })
    }

    /// A whole answer the shutdown cut short (its requests aborted when `--shutdown-timeout` ran out) is a
    /// 503, not a truncated 200; streams end instead with `finish_reason: "abort"` and `[DONE]`.
    func refuseIfCutByShutdown(_ outputs: [RequestOutput?]) throws(OpenAIError) {
        guard state.didAbortForShutdown else { return }
        if outputs.contains(where: { $0?.outputs.contains { $0.finishReason == .abort } ?? false }) { throw .shuttingDown }
    }

    /// vLLM's `_check_model`: no model, one of the served names, or a loaded adapter's name.
    func checkModel(_ name: String?) throws(OpenAIError) {
        _ = try resolveModel(name)
    }

    /// What a request's `model` names (vLLM's `_check_model`, then `_maybe_get_adapters`): nil for the base model
    /// (no name, an empty one, or a served name), a loaded adapter's `LoRARequest`, else 404. An adapter named as
    /// a served name wins, as in vLLM, which looks adapters up first.
    func resolveModel(_ name: String?) throws(OpenAIError) -> LoRARequest? {
        guard let name, !name.isEmpty else { return nil }
        if let entry = loras.lookup(name) { return entry.lora }
        if model.names.contains(name) { return nil }
        throw .modelNotFound(name)
    }

    /// The `model` a response names: the adapter's, else the name asked for, else the first served name.
    func responseModelName(_ requested: String?, lora: LoRARequest?) -> String {
        if let lora { return lora.name }
        guard let requested, !requested.isEmpty else { return model.primaryName }
        return requested
    }

    func tokenize(_ text: String, addSpecialTokens: Bool) throws(OpenAIError) -> [Int] {
        // A prompt longer than the context can hold even at the longest token a byte... is refused before
        // tokenizing (a 60 MB prompt took 18 s and 2 GB to tokenize before the length check refused it).
        // The bound has 4× slack for normalizers that shorten text (NFC, NFKC); a tokenizer that drops
        // whitespace could still fit such a text, but none of ours would tokenize it cheaply either.
        let bytes = text.utf8.count, maxModelLen = engine.maxModelLen
        let (limit, overflow) = maxModelLen.multipliedReportingOverflow(by: 4 * tokenizer.longestTokenBytes)
        if !overflow, bytes > limit {
            throw .badRequest(
                "This model's maximum context length is \(maxModelLen) tokens. However, your request's prompt is "
                    + "\(bytes) bytes, more than \(maxModelLen) tokens can hold (its longest token is "
                    + "\(tokenizer.longestTokenBytes) bytes). Please reduce the length of the input messages.",
                param: "input_tokens")
        }
        do {
            return try tokenizer.encode(text, addSpecialTokens: addSpecialTokens)
        } catch {
            throw .badRequest("The prompt could not be tokenized: \(error)", param: "prompt")
        }
    }

    func checkTokenIds(_ ids: [Int], param: String) throws(OpenAIError) {
        if let bad = ids.first(where: { $0 < 0 || $0 >= tokenizer.vocabSize }) {
            throw .badRequest(
                "Token id \(bad) is out of vocabulary (vocabulary size \(tokenizer.vocabSize)).", param: param)
        }
    }

    func decode(_ ids: [Int], skipSpecialTokens: Bool) throws(OpenAIError) -> String {
        do {
            return try tokenizer.decode(ids, skipSpecialTokens: skipSpecialTokens)
        } catch {
            throw .badRequest("The token ids could not be decoded: \(error)", param: "tokens")
        }
    }

    func logRequest(_ requestId: String, prompt: String, params: SamplingParams, lora: LoRARequest? = nil) {
        guard !config.disableLogRequests else { return }
        var shown = prompt
        if let limit = config.maxLogLen, shown.count > limit { shown = String(shown.prefix(limit)) }
        let maxTokens = params.maxTokens.map(String.init) ?? "None"
        let adapter = lora.map { ", lora_request: \($0.name) (id \($0.id), \($0.path))" } ?? ""
        logger.info(
            "Received request \(requestId): prompt: \(shown.debugDescription), n: \(params.n), temperature: \(params.temperature), max_tokens: \(maxTokens)\(adapter)"
        )
    }

    static func now() -> Int { Int(Date().timeIntervalSince1970) }

    // MARK: - Small endpoints

    /// `GET /v1/models`: the served names, then each adapter (its folder as given, the served model it belongs to,
    /// no length of its own), as vLLM lists them.
    public func listModels() -> ServingResponse {
        let created = Self.now()
        let cards = model.names.map { name in
            ModelCard(
                id: name, created: created, root: model.root, maxModelLen: engine.maxModelLen,
                permission: [ModelPermission(id: "modelperm-\(randomRequestID())", created: created)])
        }
        let adapters = loras.all.map { entry in
            ModelCard(
                id: entry.lora.name, created: created, root: entry.root, parent: entry.baseModelName ?? model.primaryName,
                maxModelLen: nil, permission: [ModelPermission(id: "modelperm-\(randomRequestID())", created: created)])
        }
        return .ok(ModelList(data: cards + adapters))
    }

    /// `GET /version`.
    public func version() -> ServingResponse {
        .ok(["version": Self.version])
    }

    /// `GET /health`: 200 with an empty body while the server takes requests.
    public func health() -> ServingResponse {
        if state.isDraining { return .error(.shuttingDown) }
        return .text(status: 200, body: "", contentType: "text/plain; charset=utf-8")
    }

    /// `GET /metrics`.
    public func prometheusMetrics() -> ServingResponse {
        .text(
            status: 200, body: metrics.render(replicas: engine.replicaStats()),
            contentType: "text/plain; version=0.0.4; charset=utf-8")
    }
}

extension SSEStream {
    /// Runs a stream's body, then sends `data: [DONE]`. An error part-way is sent first as an OpenAI
    /// error event (as vLLM does); a cancelled request or a client that went away just ends it.
    static func finishing(emit: (String) async throws -> Void, _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as OpenAIError {
            try await emit(event(ErrorResponseBody(error: error.info)))
        } catch let error as StreamEmitError {
            throw error.underlying
        } catch {
            try await emit(event(ErrorResponseBody(error: OpenAIError.internalError("\(error)").info)))
        }
        try await emit(done)
    }
}
