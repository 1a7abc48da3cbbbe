/// How `swift-vllm serve` was asked to run: vLLM's flags, parsed once by the CLI.
///
/// `engine` holds the flags that shape the engine (read by the executable's engine builder);
/// the rest shape the HTTP server.
public struct ServerConfig: Sendable, Equatable {
    public var host = "0.0.0.0"
    public var port = 8000
    /// `--served-model-name`: empty means the model path.
    public var servedModelNames: [String] = []
    /// `--api-key` (or `VLLM_API_KEY`): any of these as a Bearer token opens `/v1/*`.
    public var apiKeys: [String] = []
    /// `--chat-template`: a file path or the template itself.
    public var chatTemplate: String?
    /// `--allowed-origins` (CORS); vLLM's default allows every origin.
    public var allowedOrigins: [String] = ["*"]
    public var disableLogRequests = false
    /// `--max-log-len`: characters of a prompt a request log line shows (`nil` = all).
    public var maxLogLen: Int?
    /// Bodies larger than this are refused with 413.
    public var maxRequestBodyBytes = 64 * 1024 * 1024
    /// After SIGINT/SIGTERM, in-flight requests get this long to finish before they are aborted.
    public var drainTimeoutSeconds = 30.0
    /// The role of generated chat messages (vLLM's `--response-role`).
    public var responseRole = "assistant"
    public var engine = EngineOptions()

    public init() {}
}

/// The engine-shaping flags of `serve` and `run-batch`, named as vLLM's.
public struct EngineOptions: Sendable, Equatable {
    /// The model directory; `nil` serves the built-in random-weight demo model.
    public var model: String?
    public var maxModelLen: Int?
    public var blockSize: Int?
    public var gpuMemoryUtilization = 0.9
    public var maxNumSeqs: Int?
    public var maxNumBatchedTokens: Int?
    /// `nil` = the engine's default (on, as in vLLM).
    public var enablePrefixCaching: Bool?
    public var seed: Int?
    public var loadFormat = "auto"
    public var dtype = "auto"
    /// `auto` (the model's generation_config.json), `vllm` (none), or a folder.
    public var generationConfig = "auto"

    public init() {}
}
