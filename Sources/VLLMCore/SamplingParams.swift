/// What a constrained output must match (vLLM's `StructuredOutputsParams`: exactly one of its fields).
public enum StructuredOutputs: Sendable, Hashable {
    /// A JSON Schema, as JSON text (key order kept: properties come out in the schema's order);
    /// `anyWhitespace` false: no whitespace but the separators `", "` and `": "` (vLLM's
    /// `disable_any_whitespace`).
    case json(String, anyWhitespace: Bool = true)
    /// Any JSON object or array (`response_format: {"type": "json_object"}`).
    case jsonObject(anyWhitespace: Bool = true)
    case regex(String)
    /// One of these strings, exactly.
    case choice([String])
    /// An EBNF grammar in xgrammar's syntax, start rule `root`.
    case grammar(String)
}

/// How to sample one request: vLLM's `SamplingParams`, its field names in camelCase and its defaults.
///
/// Differences from Python, each to keep sentinels out of Swift: `topK` is `nil` where vLLM says 0 or
/// -1 (use `SamplingParams.topK(fromVLLM:)` when decoding a request); `seed` is `nil` where vLLM says
/// `None` or -1; `maxTokens == nil` means "up to the model's context length". `badWords` stays as
/// strings; the caller, who owns the tokenizer, fills `badWordsTokenIds`.
public struct SamplingParams: Sendable, Equatable {
    /// Number of sequences to return; the caller expands `n > 1` into `n` requests sharing the prompt.
    public var n: Int = 1
    public var presencePenalty: Float = 0
    public var frequencyPenalty: Float = 0
    public var repetitionPenalty: Float = 1
    /// 0 = greedy.
    public var temperature: Float = 1
    public var topP: Float = 1
    /// `nil` = all tokens.
    public var topK: Int? = nil
    public var minP: Float = 0
    /// Per-request seed: the same tokens whatever else is in the batch.
    public var seed: Int? = nil
    public var stop: [String] = []
    public var stopTokenIds: [Int] = []
    public var ignoreEos: Bool = false
    public var maxTokens: Int? = 16
    public var minTokens: Int = 0
    /// Top logprobs per output token (`nil` = none; -1 = the whole vocabulary, as vLLM).
    public var logprobs: Int? = nil
    /// Top logprobs per prompt token (`nil` = none; -1 = the whole vocabulary).
    public var promptLogprobs: Int? = nil
    public var detokenize: Bool = true
    public var skipSpecialTokens: Bool = true
    public var spacesBetweenSpecialTokens: Bool = true
    public var includeStopStrInOutput: Bool = false
    /// Added to the logits; vLLM clamps each bias to [-100, 100] (see `clampedLogitBias`).
    public var logitBias: [Int: Float] = [:]
    /// Only these tokens may be sampled (`nil` = all).
    public var allowedTokenIds: [Int]? = nil
    public var badWords: [String] = []
    /// `badWords` tokenized by the caller (with and without a leading space, as vLLM does).
    public var badWordsTokenIds: [[Int]] = []
    /// The output must match this (vLLM's `StructuredOutputsParams`); nil: free text.
    public var structuredOutputs: StructuredOutputs? = nil
    /// With a reasoning model: `structuredOutputs` constrains only what follows the first of these tokens
    /// the output has (the tokens that end its reasoning: `</think>`, for qwen3 `<tool_call>` too); empty:
    /// from the first token.
    public var structuredOutputsAfterTokenIds: [Int] = []

    /// vLLM's refusal of a temperature above 2, the value as the client sent it (`shown`: the server
    /// checks a Double before it narrows to Float, where 1e39 would become inf).
    public static func temperatureAboveTwo(shown: String) -> VLLMValidationError {
        VLLMValidationError("temperature must be in [0, 2], got \(shown).", parameter: "temperature")
    }

    /// Ids as vLLM lists them (`[1, 2, 3]`), the first 20 only: a request with 100,000 bad ids got a
    /// 686 KB message.
    static func listed(_ ids: [Int]) -> String {
        ids.count <= 20 ? "\(ids)" : "\(Array(ids.prefix(20)).description.dropLast()), … (\(ids.count) in all)]"
    }

    /// Whether sampling needs the request's latest output tokens (penalties, bad words): such a request
    /// cannot be scheduled while the step that samples its previous token is still running. (A grammar
    /// needs them too, but only for its mask: its step's forward is launched ahead, its sampling after.)
    public var needsOutputHistory: Bool {
        presencePenalty != 0 || frequencyPenalty != 0 || repetitionPenalty != 1 || !badWordsTokenIds.isEmpty
    }

    public init() {}

    /// vLLM's `top_k` integer → this struct's: 0 and -1 mean "off" (`nil`); anything else is kept
    /// as given, so `validate()` reports a bad value in vLLM's words.
    public static func topK(fromVLLM value: Int) -> Int? {
        value == 0 || value == -1 ? nil : value
    }

    /// Temperatures below this are greedy (vLLM's `_SAMPLING_EPS`).
    public static let samplingEpsilon: Float = 1e-5
    /// vLLM raises a positive temperature below this to it, to keep softmax finite.
    public static let minimumTemperature: Float = 1e-2
    /// vLLM's default `VLLM_MAX_N_SEQUENCES`.
    public static let maxNumSequences = 16_384

    public var isGreedy: Bool { temperature < Self.samplingEpsilon }

    /// The temperature the sampler uses: 0 for greedy, else at least `minimumTemperature`.
    public var effectiveTemperature: Float {
        isGreedy ? 0 : max(temperature, Self.minimumTemperature)
    }

    /// Characters of output text held back while streaming, so a stop string that is still being
    /// generated never reaches the client (vLLM's `output_text_buffer_length`).
    public var outputTextBufferLength: Int {
        guard !stop.isEmpty, !includeStopStrInOutput else { return 0 }
        return (stop.map(\.count).max() ?? 1) - 1
    }

    /// `logitBias` with each value clamped to [-100, 100], as vLLM's `from_optional` does.
    public var clampedLogitBias: [Int: Float] {
        logitBias.mapValues { min(100, max(-100, $0)) }
    }

    /// Checks every field as vLLM's `_verify_args` and `_verify_greedy_sampling` do, in the same
    /// order, with the same messages.
    public func validate() throws(VLLMValidationError) {
        if n < 1 { throw .init("n must be at least 1, got \(n).", parameter: "n") }
        if n > Self.maxNumSequences {
            throw .init(
                "n must be at most \(Self.maxNumSequences), got \(n). To increase this limit, set the "
                    + "VLLM_MAX_N_SEQUENCES environment variable.", parameter: "n")
        }
        if !(-2...2).contains(presencePenalty) {
            throw .init("presence_penalty must be in [-2, 2], got \(presencePenalty).", parameter: "presence_penalty")
        }
        if !(-2...2).contains(frequencyPenalty) {
            throw .init(
                "frequency_penalty must be in [-2, 2], got \(frequencyPenalty).", parameter: "frequency_penalty")
        }
        if !repetitionPenalty.isFinite {
            throw .init(
                "repetition_penalty must be a finite number, got \(repetitionPenalty).", parameter: "repetition_penalty"
            )
        }
        if repetitionPenalty <= 0 {
            throw .init(
                "repetition_penalty must be greater than zero, got \(repetitionPenalty).",
                parameter: "repetition_penalty")
        }
        if !temperature.isFinite {
            throw .init("temperature must be a finite number, got \(temperature).", parameter: "temperature")
        }
        if temperature < 0 {
            throw .init("temperature must be non-negative, got \(temperature).", parameter: "temperature")
        }
        if temperature > 2 { throw Self.temperatureAboveTwo(shown: "\(temperature)") }
        if !(topP > 0 && topP <= 1) {
            throw .init("top_p must be in (0, 1], got \(topP).", parameter: "top_p")
        }
        if let topK, topK < 1 {
            throw .init("top_k must be 0 (disable), or at least 1, got \(topK).", parameter: "top_k")
        }
        if !(0...1).contains(minP) {
            throw .init("min_p must be in [0, 1], got \(minP).", parameter: "min_p")
        }
        if let maxTokens, maxTokens < 1 {
            throw .init("max_tokens must be at least 1, got \(maxTokens).", parameter: "max_tokens")
        }
        if minTokens < 0 {
            throw .init("min_tokens must be greater than or equal to 0, got \(minTokens).", parameter: "min_tokens")
        }
        if let maxTokens, minTokens > maxTokens {
            throw .init(
                "min_tokens must be less than or equal to max_tokens=\(maxTokens), got \(minTokens).",
                parameter: "min_tokens")
        }
        if let logprobs, logprobs != -1, logprobs < 0 {
            throw .init("logprobs must be non-negative or -1, got \(logprobs).", parameter: "logprobs")
        }
        if let promptLogprobs, promptLogprobs != -1, promptLogprobs < 0 {
            throw .init(
                "prompt_logprobs must be non-negative or -1, got \(promptLogprobs).", parameter: "prompt_logprobs")
        }
        if stop.contains(where: \.isEmpty) {
            throw .init("stop cannot contain an empty string.", parameter: "stop")
        }
        if !stop.isEmpty && !detokenize {
            throw .init(
                "stop strings are only supported when detokenize is True. Set detokenize=True to use stop.",
                parameter: "stop")
        }
        if badWords.contains(where: \.isEmpty) {
            throw .init(
                "bad_words cannot contain an empty string. Got bad_words=\(pyList(badWords))", parameter: "bad_words")
        }
        if isGreedy && n > 1 {
            throw .init("n must be 1 when using greedy sampling, got \(n).", parameter: "n")
        }
    }

    /// Checks the fields that need the model's vocabulary size, as vLLM's `verify` does.
    public func validate(vocabSize: Int, maxLogprobs: Int = 20) throws(VLLMValidationError) {
        let maxAllowed = maxLogprobs == -1 ? vocabSize : maxLogprobs
        if let logprobs, logprobs != 0 {
            let asked = logprobs == -1 ? vocabSize : logprobs
            if asked > maxAllowed {
                throw .init(
                    "Requested sample logprobs of \(asked), which is greater than max allowed: \(maxAllowed)",
                    parameter: "logprobs")
            }
        }
        if let promptLogprobs, promptLogprobs != 0 {
            let asked = promptLogprobs == -1 ? vocabSize : promptLogprobs
            if asked > maxAllowed {
                throw .init(
                    "Requested prompt logprobs of \(asked), which is greater than max allowed: \(maxAllowed)",
                    parameter: "prompt_logprobs")
            }
        }
        let badStop = stopTokenIds.filter { $0 < 0 || $0 >= vocabSize }
        if !badStop.isEmpty {
            throw .init(
                "token_id(s) \(Self.listed(badStop)) in stop_token_ids contain out-of-vocab token ids. Vocabulary size: \(vocabSize)",
                parameter: "stop_token_ids")
        }
        let badBias = logitBias.keys.sorted().filter { $0 < 0 || $0 >= vocabSize }
        if !badBias.isEmpty {
            throw .init(
                "token_id(s) \(Self.listed(badBias)) in logit_bias contain out-of-vocab token ids. Vocabulary size: \(vocabSize)",
                parameter: "logit_bias")
        }
        if let allowedTokenIds {
            if allowedTokenIds.isEmpty {
                throw .init("allowed_token_ids is not None and empty!", parameter: "allowed_token_ids")
            }
            if allowedTokenIds.contains(where: { $0 < 0 || $0 >= vocabSize }) {
                throw .init("allowed_token_ids contains out-of-vocab token id!", parameter: "allowed_token_ids")
            }
        }
    }
}

/// Python's `str(list[str])`, as vLLM's messages print lists.
private func pyList(_ values: [String]) -> String {
    "[" + values.map { "'\($0)'" }.joined(separator: ", ") + "]"
}
