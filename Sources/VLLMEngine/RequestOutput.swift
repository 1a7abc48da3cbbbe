import VLLMCompute
import VLLMCore

/// Logprobs are part of what the engine hands out: its clients (the server) see the type through
/// the engine, not through the compute layer.
@_exported import struct VLLMCompute.TokenLogprobs

/// What a request has produced so far: vLLM's `RequestOutput`.
///
/// Each output carries both the cumulative text/tokens and the delta since the previous
/// `RequestOutput` of the same request, so streaming and non-streaming callers read what they need.
public struct RequestOutput: Sendable {
    public var requestId: String
    public var promptTokenIds: [Int]
    /// One per sequence (`n`), by index.
    public var outputs: [CompletionOutput]
    /// True once every sequence has finished.
    public var isFinished: Bool
    public var metrics: RequestMetrics
    /// Prompt tokens served from the prefix cache.
    public var numCachedTokens: Int
    /// With `promptLogprobs`: per prompt position, its token's logprob given the tokens before it
    /// (`nil` at position 0, as vLLM), filled in as prefill chunks run.
    public var promptLogprobs: [TokenLogprobs?]?

    public init(requestId: String, promptTokenIds: [Int], outputs: [CompletionOutput], isFinished: Bool,
                metrics: RequestMetrics, numCachedTokens: Int = 0) {
        self.requestId = requestId
        self.promptTokenIds = promptTokenIds
        self.outputs = outputs
        self.isFinished = isFinished
        self.metrics = metrics
        self.numCachedTokens = numCachedTokens
        promptLogprobs = nil
    }
}

/// One generated sequence of a request: vLLM's `CompletionOutput`.
public struct CompletionOutput: Sendable {
    public var index: Int
    /// Cumulative text and tokens (stop string removed unless `includeStopStrInOutput`).
    public var text: String
    public var tokenIds: [Int]
    /// What was added since the previous RequestOutput.
    public var deltaText: String
    public var deltaTokenIds: [Int]
    /// Per generated token, when `logprobs` was asked for (cumulative; `deltaLogprobs` for streaming).
    public var logprobs: [TokenLogprobs]?
    public var deltaLogprobs: [TokenLogprobs]?
    public var finishReason: FinishReason?
    public var stopReason: StopReason?

    public init(index: Int, text: String = "", tokenIds: [Int] = [], deltaText: String = "", deltaTokenIds: [Int] = [],
                logprobs: [TokenLogprobs]? = nil, deltaLogprobs: [TokenLogprobs]? = nil,
                finishReason: FinishReason? = nil, stopReason: StopReason? = nil) {
        self.index = index
        self.text = text
        self.tokenIds = tokenIds
        self.deltaText = deltaText
        self.deltaTokenIds = deltaTokenIds
        self.logprobs = logprobs
        self.deltaLogprobs = deltaLogprobs
        self.finishReason = finishReason
        self.stopReason = stopReason
    }

    public var isFinished: Bool { finishReason != nil }
}

/// Timestamps of a request's life, in seconds since the Unix epoch.
public struct RequestMetrics: Sendable, Equatable {
    public var arrivalTime: Double
    public var firstScheduledTime: Double?
    public var firstTokenTime: Double?
    public var lastTokenTime: Double?
    public var finishedTime: Double?

    public init(arrivalTime: Double) { self.arrivalTime = arrivalTime }
}

/// Engine counters for /metrics and logs (vLLM's names in comments).
public struct EngineStats: Sendable, Equatable {
    public var numRunning = 0                 // vllm:num_requests_running
    public var numWaiting = 0                 // vllm:num_requests_waiting
    public var kvCacheUsage = 0.0             // vllm:kv_cache_usage_perc (0…1)
    public var numPreemptions = 0             // vllm:num_preemptions_total
    public var prefixCacheQueries = 0         // vllm:prefix_cache_queries_total (tokens)
    public var prefixCacheHits = 0            // vllm:prefix_cache_hits_total (tokens)
    public var numFreeBlocks = 0
    public var numTotalBlocks = 0
    /// vllm:spec_decode_* counters; nil when the engine does not speculate.
    public var specDecoding: SpecDecodingStats? = nil

    public init() {}
}

/// What the server needs of an engine: submit a request and read its outputs as a stream;
/// cancelling the stream (or `abort`) aborts the request and frees its KV blocks.
public protocol EngineClient: Sendable {
    /// Longest prompt + output the engine accepts.
    var maxModelLen: Int { get }
    /// Validates `params` and the prompt (throwing `VLLMValidationError` with vLLM's wording), then
    /// enqueues; the stream yields a RequestOutput after every step that changed the request. `lora`: the adapter
    /// it runs with (nil: the base model).
    func generate(requestId: String, promptTokenIds: [Int], params: SamplingParams, lora: LoRARequest?) throws
        -> AsyncThrowingStream<RequestOutput, Error>
    /// Reads an adapter into the engine (vLLM's `add_lora`), so a bad folder is refused before a request names it.
    func addLoRA(_ lora: LoRARequest) throws
    func abort(requestId: String)
    /// Aborts every request in flight (a shutdown whose drain ran out of time): each stream gets its final
    /// output, finish reason `abort`.
    func abortAll()
    func stats() -> EngineStats
    /// Each engine replica's stats (`--data-parallel-size`), in replica order; one engine: `[stats()]`.
    func replicaStats() -> [EngineStats]
    /// The model's EOS ids (generation_config's, else config's); the first ends a beam in beam search.
    var eosTokenIds: [Int] { get }
}

extension EngineClient {
    /// A request of the base model.
    public func generate(requestId: String, promptTokenIds: [Int], params: SamplingParams) throws
        -> AsyncThrowingStream<RequestOutput, Error> {
        try generate(requestId: requestId, promptTokenIds: promptTokenIds, params: params, lora: nil)
    }

    public func addLoRA(_ lora: LoRARequest) throws {
        throw VLLMValidationError("LoRA is not enabled. Use --enable-lora to enable LoRA.")
    }

    public var eosTokenIds: [Int] { [] }
    public func replicaStats() -> [EngineStats] { [stats()] }
}
