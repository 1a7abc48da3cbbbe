import Foundation
import VLLMCore

/// Sampling defaults the model ships (its `generation_config.json`, as vLLM's
/// `--generation-config auto`); a request's own value wins, then these, then OpenAI's defaults.
public struct DefaultSamplingParams: Sendable, Equatable {
    public var temperature: Float?
    public var topP: Float?
    public var topK: Int?
    public var minP: Float?
    public var repetitionPenalty: Float?
    /// `max_new_tokens`: a ceiling on every request's `max_tokens`.
    public var maxTokens: Int?

    public init(
        temperature: Float? = nil, topP: Float? = nil, topK: Int? = nil, minP: Float? = nil,
        repetitionPenalty: Float? = nil, maxTokens: Int? = nil
    ) {
        self.temperature = temperature
        self.topP = topP
        self.topK = topK
        self.minP = minP
        self.repetitionPenalty = repetitionPenalty
        self.maxTokens = maxTokens
    }
}

/// The sampling fields the completion and chat requests share: OpenAI's, plus vLLM's extras
/// (`top_k`, `min_p`, `repetition_penalty`, `ignore_eos`, `min_tokens`, `stop_token_ids`, …).
struct SamplingFields: Decodable, Sendable {
    var n: Int?
    var frequencyPenalty: Float?
    var presencePenalty: Float?
    var repetitionPenalty: Float?
    /// A Double, so a value no Float holds (1e39) gets vLLM's range message, not a decoding error.
    var temperature: Double?
    var topP: Float?
    var topK: Int?
    var minP: Float?
    var seed: Int?
    var stop: StopParam?
    var stopTokenIds: [Int]?
    var includeStopStrInOutput: Bool?
    var ignoreEos: Bool?
    var minTokens: Int?
    var skipSpecialTokens: Bool?
    var spacesBetweenSpecialTokens: Bool?
    var logitBias: [String: Float]?
    var allowedTokenIds: [Int]?
    var badWords: [String]?
    var promptLogprobs: Int?
    var useBeamSearch: Bool?
    var lengthPenalty: Double?
    var stream: Bool?
    var streamOptions: StreamOptions?
    /// response_format, structured_outputs and the guided_* aliases (decoded beside these fields).
    var structured = StructuredOutputFields.none

    /// No field set: every default applies.
    static var empty: SamplingFields { SamplingFields() }

    private init() {}

    enum CodingKeys: String, CodingKey {
        case n, temperature, seed, stop, stream
        case frequencyPenalty = "frequency_penalty"
        case presencePenalty = "presence_penalty"
        case repetitionPenalty = "repetition_penalty"
        case topP = "top_p"
        case topK = "top_k"
        case minP = "min_p"
        case stopTokenIds = "stop_token_ids"
        case includeStopStrInOutput = "include_stop_str_in_output"
        case ignoreEos = "ignore_eos"
        case minTokens = "min_tokens"
        case skipSpecialTokens = "skip_special_tokens"
        case spacesBetweenSpecialTokens = "spaces_between_special_tokens"
        case logitBias = "logit_bias"
        case allowedTokenIds = "allowed_token_ids"
        case badWords = "bad_words"
        case promptLogprobs = "prompt_logprobs"
        case useBeamSearch = "use_beam_search"
        case lengthPenalty = "length_penalty"
        case streamOptions = "stream_options"
    }

    var isStream: Bool { stream ?? false }

    /// With `use_beam_search`, how the engine requests become a beam search (vLLM's `to_beam_search_params`:
    /// `n` beams, `length_penalty` default 1); the beams' text is `tokenizer`'s, special tokens skipped.
    func beamSearchOptions(tokenizer: any TextTokenizer) -> GenerationRun.BeamSearchOptions? {
        guard useBeamSearch == true else { return nil }
        return GenerationRun.BeamSearchOptions(lengthPenalty: lengthPenalty ?? 1) { try tokenizer.decode($0, skipSpecialTokens: true) }
    }

    /// Features this server does not have, refused with a message rather than ignored.
    func checkSupported() throws(OpenAIError) {
        if useBeamSearch == true && promptLogprobs != nil {
            throw .badRequest("prompt_logprobs is not supported with use_beam_search.", param: "prompt_logprobs")
        }
        if let promptLogprobs {
            // vLLM's `check_logprobs`.
            if isStream && (promptLogprobs > 0 || promptLogprobs == -1) {
                throw .badRequest("`prompt_logprobs` are not available when `stream=True`.", param: "prompt_logprobs")
            }
            if promptLogprobs < 0 && promptLogprobs != -1 {
                throw .badRequest("`prompt_logprobs` must be a positive value or -1.", param: "prompt_logprobs")
            }
        }
        _ = try structured.resolved()
        if streamOptions != nil && !isStream {
            // vLLM's `validate_stream_options`.
            throw .badRequest("Stream options can only be defined when `stream=True`.", param: "stream_options")
        }
    }

    /// vLLM's `to_sampling_params`: request value, else the model's default, else OpenAI's.
    func samplingParams(
        defaults: DefaultSamplingParams, maxTokens: Int, logprobs: Int?
    ) throws(OpenAIError) -> SamplingParams {
        var params = SamplingParams()
        params.n = n ?? 1
        params.presencePenalty = presencePenalty ?? 0
        params.frequencyPenalty = frequencyPenalty ?? 0
        params.repetitionPenalty = repetitionPenalty ?? defaults.repetitionPenalty ?? 1
        if let temperature, temperature.isFinite, temperature > 2 {
            throw .validation(SamplingParams.temperatureAboveTwo(shown: "\(temperature)"))
        }
        params.temperature = temperature.map { Float($0) } ?? defaults.temperature ?? 1
        params.topP = topP ?? defaults.topP ?? 1
        if let topK {
            params.topK = SamplingParams.topK(fromVLLM: topK)
        } else {
            params.topK = defaults.topK.flatMap(SamplingParams.topK(fromVLLM:))
        }
        params.minP = minP ?? defaults.minP ?? 0
        params.seed = seed == -1 ? nil : seed
        params.stop = stop?.values ?? []
        params.stopTokenIds = stopTokenIds ?? []
        params.includeStopStrInOutput = includeStopStrInOutput ?? false
        params.ignoreEos = ignoreEos ?? false
        params.maxTokens = maxTokens
        params.minTokens = minTokens ?? 0
        params.skipSpecialTokens = skipSpecialTokens ?? true
        params.spacesBetweenSpecialTokens = spacesBetweenSpecialTokens ?? true
        params.logprobs = logprobs
        params.promptLogprobs = promptLogprobs
        params.allowedTokenIds = allowedTokenIds
        params.badWords = badWords ?? []
        params.structuredOutputs = try structured.resolved()
        if let logitBias {
            var bias: [Int: Float] = [:]
            for (key, value) in logitBias {
                guard let id = Int(key) else {
                    throw .badRequest(
                        "logit_bias keys must be token ids written as strings, got '\(key)'.", param: "logit_bias")
                }
                bias[id] = value
            }
            params.logitBias = bias
        }
        do {
            // With use_beam_search, n is the beam width (vLLM's BeamSearchParams), free of the rule that
            // greedy sampling takes n = 1.
            var checked = params
            if useBeamSearch == true && params.n >= 1 { checked.n = 1 }
            try checked.validate()
        } catch {
            throw .validation(error)
        }
        return params
    }
}

/// vLLM's `_validate_input` and `get_max_tokens`: refuses a prompt that leaves no room to generate
/// and a `max_tokens` that does not fit, then returns the output budget.
func outputBudget(
    promptLength: Int, requestedMaxTokens: Int?, maxModelLen: Int, defaults: DefaultSamplingParams
) throws(OpenAIError) -> Int {
    if promptLength >= maxModelLen {
        throw .badRequest(
            "This model's maximum context length is \(maxModelLen) tokens. However, your request has "
                + "\(promptLength) input tokens. Please reduce the length of the input messages.",
            param: "input_tokens")
    }
    if let requestedMaxTokens, promptLength + requestedMaxTokens > maxModelLen {
        throw .badRequest(
            "'max_tokens' or 'max_completion_tokens' is too large: \(requestedMaxTokens). This model's maximum "
                + "context length is \(maxModelLen) tokens and your request has \(promptLength) input tokens "
                + "(\(requestedMaxTokens) > \(maxModelLen) - \(promptLength)).",
            param: "max_tokens")
    }
    let candidates = [maxModelLen - promptLength, requestedMaxTokens, defaults.maxTokens].compactMap { $0 }
    return candidates.min() ?? (maxModelLen - promptLength)
}

/// Sampling fields of one JSON object, named as in vLLM's requests — for offline JSONL input
/// (`swift-vllm generate --prompts`), read exactly as the HTTP API reads them.
public enum RequestSamplingFields {
    /// `base` supplies every field the object leaves out (`max_tokens` and `logprobs` included).
    public static func samplingParams(json: [UInt8], base: SamplingParams) throws -> SamplingParams {
        struct Extra: Decodable { var max_tokens: Int?; var logprobs: Int? }
        let data = Data(json)
        var fields: SamplingFields, extra: Extra
        do {
            let decoder = JSONDecoder()
            decoder.userInfo[.requestBody] = data
            fields = try decoder.decode(SamplingFields.self, from: data)
            fields.structured = try decoder.decode(StructuredOutputFields.self, from: data)
            extra = try JSONDecoder().decode(Extra.self, from: data)
        } catch {
            throw VLLMValidationError("not a valid request object: \(error)")
        }
        let defaults = DefaultSamplingParams(
            temperature: base.temperature, topP: base.topP, topK: base.topK ?? 0, minP: base.minP,
            repetitionPenalty: base.repetitionPenalty)
        do {
            var params = try fields.samplingParams(
                defaults: defaults, maxTokens: extra.max_tokens ?? base.maxTokens ?? 16, logprobs: extra.logprobs ?? base.logprobs)
            if fields.stop == nil { params.stop = base.stop }
            params.ignoreEos = fields.ignoreEos ?? base.ignoreEos
            params.detokenize = base.detokenize
            return params
        } catch {
            throw VLLMValidationError(error.message, parameter: error.param)
        }
    }
}
