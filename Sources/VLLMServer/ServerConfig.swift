import Foundation

/// How the HTTP server of `swift-vllm serve` was asked to run: vLLM's server flags, parsed once
/// by the CLI (the engine's flags go to the engine builder).
public struct ServerConfig: Sendable {
    public var host = "0.0.0.0"
    public var port = 8000
    /// `--served-model-name`: empty means the model path.
    public var servedModelNames: [String] = []
    /// `--api-key` (or `VLLM_API_KEY`): any of these as a Bearer token opens `/v1/*`.
    public var apiKeys: [String] = []
    /// `--allowed-origins` (CORS); vLLM's default allows every origin.
    public var allowedOrigins: [String] = ["*"]
    public var disableLogRequests = false
    /// `--max-log-len`: characters of a prompt a request log line shows (`nil` = all).
    public var maxLogLen: Int?
    /// Bodies larger than this are refused with 413.
    public var maxRequestBodyBytes = 64 * 1024 * 1024
    /// A connection that sends nothing (no request, half the headers, a stalled body) for this long is
    /// closed; uvicorn's `--timeout-keep-alive` (vLLM: `VLLM_HTTP_TIMEOUT_KEEP_ALIVE`), 5 s by default.
    public var keepAliveTimeoutSeconds = 5.0
    /// Most connections open at once; past it, new ones wait in the listen backlog (not accepted, so no
    /// file descriptor is spent on them) and a warning is logged. `nil`: from the open-file limit.
    public var maxConnections: Int?
    /// After SIGINT/SIGTERM, in-flight requests get this long to finish before they are aborted.
    public var drainTimeoutSeconds = 30.0
    /// The role of generated chat messages (vLLM's `--response-role`).
    public var responseRole = "assistant"
    /// `--enable-auto-tool-choice --tool-call-parser NAME`: the parser that turns `tool_choice: "auto"`
    /// answers into tool calls (nil: "auto" answers in content, as vLLM without the flags).
    public var toolCallParser: String?
    /// `--reasoning-parser NAME`: `<think>…</think>` goes to the message's `reasoning` (nil: all content).
    public var reasoningParser: String?
    /// `--max-loras` when the engine runs with `--enable-lora` (nil: LoRA is off): adapters can be loaded, and
    /// `/metrics` has `vllm:lora_requests_info` with this as its `max_lora`.
    public var maxLoras: Int?
    /// `--lora-modules`: the adapters registered at start-up, in order (`OpenAIServing.loadStaticLoRAs`).
    public var loraModules: [LoRAModulePath] = []
    /// `VLLM_ALLOW_RUNTIME_LORA_UPDATING`: `POST /v1/load_lora_adapter` and `/v1/unload_lora_adapter` exist.
    public var allowRuntimeLoRAUpdating = false
    /// vLLM's `get_adapter_absolute_path`: the local folder of an adapter's path — a hub id's downloaded snapshot
    /// (`serve` sets this to the hub client), the path itself otherwise. nil: paths are folders.
    public var fetchAdapter: (@Sendable (String) async throws -> String)?
    /// The `--reasoning-parser` names this server has.
    public static let supportedReasoningParsers = ReasoningParser.Kind.allCases.map(\.rawValue)
    /// The `--tool-call-parser` names this server has.
    public static let supportedToolCallParsers = ToolCallParserKind.supportedNames

    public init() {}

    /// Whether `VLLM_ALLOW_RUNTIME_LORA_UPDATING`'s value turns the runtime LoRA routes on: "1" or "true", any
    /// case, around whitespace (vLLM's `envs` reading).
    public static func allowsRuntimeLoRAUpdating(_ value: String?) -> Bool {
        ["1", "true"].contains((value ?? "").trimmingCharacters(in: .whitespacesAndNewlines).lowercased())
    }
}
