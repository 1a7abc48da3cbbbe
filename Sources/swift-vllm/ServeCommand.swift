import ArgumentParser
import Foundation
import Logging
import VLLMServer

/// `swift-vllm serve [MODEL_DIR]`: the OpenAI-compatible HTTP server, flags named as vLLM's.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a model over vLLM's OpenAI-compatible HTTP API.",
        discussion: "With no model, serves the built-in random-weight demo model.")

    @Argument(help: "A HuggingFace model folder or hub id (org/name; default: the built-in random-weight demo model).")
    var modelTag: String?
    @Option(name: .customLong("model"), help: "The model folder or hub id, as an option (as vLLM's --model).")
    var modelOption: String?
    @Option(help: "Host name to bind.")
    var host: String = "0.0.0.0"
    @Option(help: "Port to listen on.")
    var port: Int = 8000
    @Option(
        name: .customLong("served-model-name"), parsing: .upToNextOption,
        help: "Names the API accepts for the model (the first is the one responses name).")
    var servedModelName: [String] = []
    @Option(
        name: .customLong("api-key"), parsing: .upToNextOption,
        help: "Keys a client must send as 'Authorization: Bearer KEY' on /v1/* (default: $VLLM_API_KEY).")
    var apiKey: [String] = []
    @Option(name: .customLong("chat-template"), help: "Chat template: a file path or the template itself.")
    var chatTemplate: String?
    @Option(name: .customLong("generation-config"), help: "auto (the model's generation_config.json) or vllm.")
    var generationConfig: String = "auto"
    @Option(
        name: .customLong("allowed-origins"),
        help: "CORS origins: a JSON list (vLLM's form, e.g. '[\"*\"]') or comma-separated.")
    var allowedOrigins: String = "[\"*\"]"
    @Flag(name: .customLong("disable-log-requests"), help: "Do not log each request.")
    var disableLogRequests = false
    @Option(name: .customLong("max-log-len"), help: "Characters of a prompt shown in request logs (default: all).")
    var maxLogLen: Int?
    @Option(
        name: .customLong("shutdown-timeout"),
        help: "Seconds in-flight requests get to finish after SIGINT/SIGTERM.")
    var shutdownTimeout: Double = 30
    @Option(
        name: .customLong("timeout-keep-alive"),
        help: "Seconds a connection may send nothing (between requests, or mid-request) before it is closed (uvicorn's flag; default: VLLM_HTTP_TIMEOUT_KEEP_ALIVE, else 5).")
    var timeoutKeepAlive: Double?
    @Option(
        name: .customLong("max-connections"),
        help: "Most connections open at once; past it new ones wait to be accepted (default: the open-file limit less 256).")
    var maxConnections: Int?
    @Flag(name: .customLong("enable-auto-tool-choice"), help: "Parse tool calls out of tool_choice \"auto\" answers (needs --tool-call-parser).")
    var enableAutoToolChoice = false
    @Option(name: .customLong("tool-call-parser"), help: "How the model writes tool calls: hermes (Hermes 2 Pro, Qwen2.5, Qwen3), llama3_json (Llama 3.x, 4), mistral.")
    var toolCallParser: String?
    @Option(name: .customLong("reasoning-parser"), help: "How the model writes its reasoning: deepseek_r1 or qwen3 (<think>…</think> into the message's reasoning field).")
    var reasoningParser: String?
    @OptionGroup var lora: LoRAModulesOption
    @OptionGroup var engine: EngineOptions

    var model: String? { modelOption ?? modelTag }

    func validate() throws {
        if modelTag != nil && modelOption != nil && modelTag != modelOption {
            throw ValidationError("give the model once: as the argument or as --model")
        }
        guard (1...65535).contains(port) else { throw ValidationError("--port must be in 1...65535, got \(port)") }
        _ = try Self.parseOrigins(allowedOrigins)
        if let maxLogLen, maxLogLen < 0 { throw ValidationError("--max-log-len must not be negative") }
        if shutdownTimeout < 0 { throw ValidationError("--shutdown-timeout must not be negative") }
        if let timeoutKeepAlive, !(timeoutKeepAlive > 0) { throw ValidationError("--timeout-keep-alive must be positive") }
        if let maxConnections, maxConnections < 1 { throw ValidationError("--max-connections must be at least 1") }
        if enableAutoToolChoice && toolCallParser == nil {
            throw ValidationError("--enable-auto-tool-choice requires --tool-call-parser")
        }
        if let reasoningParser, !ServerConfig.supportedReasoningParsers.contains(reasoningParser) {
            throw ValidationError("--reasoning-parser '\(reasoningParser)' is not supported; supported: \(ServerConfig.supportedReasoningParsers.joined(separator: ", "))")
        }
        if let toolCallParser, !ServerConfig.supportedToolCallParsers.contains(toolCallParser) {
            throw ValidationError("--tool-call-parser '\(toolCallParser)' is not supported; supported: \(ServerConfig.supportedToolCallParsers.joined(separator: ", "))")
        }
        try lora.check(enableLoRA: engine.enableLoRA)
    }

    /// `--allowed-origins`: vLLM takes a JSON list; a comma-separated list is accepted too.
    static func parseOrigins(_ text: String) throws -> [String] {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("[") {
            guard let list = try? JSONDecoder().decode([String].self, from: Data(trimmed.utf8)) else {
                throw ValidationError("--allowed-origins: '\(text)' is not a JSON list of strings")
            }
            return list
        }
        return trimmed.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    func serverConfig() throws -> ServerConfig {
        var config = ServerConfig()
        config.host = host
        config.port = port
        config.servedModelNames = servedModelName
        let environmentKey = ProcessInfo.processInfo.environment["VLLM_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        // An empty --api-key means none, as in vLLM (deployments pass `--api-key "$API_KEY"` with it unset).
        let keys = apiKey.filter { !$0.isEmpty }
        config.apiKeys = keys.isEmpty ? (environmentKey.map { [$0] } ?? []) : keys
        config.allowedOrigins = try Self.parseOrigins(allowedOrigins)
        config.disableLogRequests = disableLogRequests
        config.maxLogLen = maxLogLen
        config.drainTimeoutSeconds = shutdownTimeout
        let environmentKeepAlive = ProcessInfo.processInfo.environment["VLLM_HTTP_TIMEOUT_KEEP_ALIVE"]
        if let timeoutKeepAlive {
            config.keepAliveTimeoutSeconds = timeoutKeepAlive
        } else if let environmentKeepAlive {
            guard let seconds = Double(environmentKeepAlive), seconds > 0 else {
                throw ValidationError("VLLM_HTTP_TIMEOUT_KEEP_ALIVE must be a positive number of seconds, got '\(environmentKeepAlive)'")
            }
            config.keepAliveTimeoutSeconds = seconds
        }
        config.maxConnections = maxConnections
        config.toolCallParser = enableAutoToolChoice ? toolCallParser : nil
        config.reasoningParser = reasoningParser
        try lora.apply(to: &config, engine: engine)
        return config
    }

    func run() async throws {
        let config = try serverConfig()
        let built = try ServeEngine.make(
            model: try await engine.resolveModel(model), name: model, tokenizerPath: try await engine.resolveModel(engine.tokenizer, applyOverrides: false),
            draftModel: try await engine.resolveDraftModel(), options: engine, servedModelNames: servedModelName, chatTemplate: chatTemplate, generationConfig: generationConfig)
        var logger = Logger(label: "swift-vllm.serve")
        logger.logLevel = .info
        let serving = OpenAIServing(model: built.model, config: config, logger: logger)
        do {
            try await serving.loadStaticLoRAsOrFail()
        } catch {
            built.shutdown()
            throw error
        }
        try await HTTPServer.run(serving: serving, logger: logger)
        built.shutdown()
    }
}
