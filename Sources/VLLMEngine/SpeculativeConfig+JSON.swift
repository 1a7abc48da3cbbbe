import Foundation
import VLLMCore

extension SpeculativeConfig {
    /// Reads vLLM's JSON, with vLLM's defaults: `method` may also come as `"model": "ngram"`; with neither lookup
    /// bound both are 5, with one the other equals it. A `model` that is not "ngram" is a draft model (`method`
    /// absent or `draft_model`), whose folder is checked when the engine loads it.
    public init(json text: String) throws(VLLMValidationError) {
        guard let data = text.data(using: .utf8),
            let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        else {
            throw VLLMValidationError("--speculative-config must be a JSON object, got \(text)", parameter: "speculative_config")
        }
        let known: Set<String> = ["method", "model", "num_speculative_tokens", "prompt_lookup_min", "prompt_lookup_max"]
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw VLLMValidationError(
                "--speculative-config: '\(unknown)' is not supported (this engine takes method, model, num_speculative_tokens, "
                    + "prompt_lookup_min and prompt_lookup_max)", parameter: "speculative_config")
        }
        if let method = object["method"], !(method is String) {
            throw VLLMValidationError("--speculative-config: method must be a string, got \(method)", parameter: "speculative_config")
        }
        if let model = object["model"], !(model is String) {
            throw VLLMValidationError("--speculative-config: model must be a string, got \(model)", parameter: "speculative_config")
        }
        let model = object["model"] as? String
        let isNgram = { (name: String?) in name == "ngram" || name == "[ngram]" }
        let method = (object["method"] as? String) ?? (isNgram(model) ? "ngram" : model == nil ? nil : "draft_model")
        var draftModel: String? = nil
        switch method {
        case let name? where isNgram(name): break
        case "draft_model"?:
            guard let model, !model.isEmpty, !isNgram(model) else {
                throw VLLMValidationError("--speculative-config: method draft_model needs \"model\": the draft model's folder or hub id",
                                          parameter: "speculative_config")
            }
            draftModel = model
        default:
            let asked = method.map { "method \($0)" } ?? "no method"
            throw VLLMValidationError(
                "--speculative-config: \(asked) is not supported; use {\"method\": \"ngram\", \"num_speculative_tokens\": k} "
                    + "or {\"model\": DRAFT, \"num_speculative_tokens\": k}", parameter: "speculative_config")
        }
        // An integer is what JSONDecoder reads as Int: not `true`, not 1.5.
        func number(_ key: String) throws(VLLMValidationError) -> Int? {
            guard let value = object[key] else { return nil }
            guard let data = try? JSONSerialization.data(withJSONObject: value, options: .fragmentsAllowed),
                let int = try? JSONDecoder().decode(Int.self, from: data)
            else {
                throw VLLMValidationError("--speculative-config: \(key) must be a positive integer, got \(value)",
                                          parameter: "speculative_config")
            }
            return int
        }
        func integer(_ key: String, _ value: Int?, atMost limit: Int) throws(VLLMValidationError) -> Int? {
            guard let value else { return nil }
            guard value >= 1 && value <= limit else {
                throw VLLMValidationError("--speculative-config: \(key) must be an integer in 1…\(limit), got \(value)",
                                          parameter: "speculative_config")
            }
            return value
        }
        guard let k = try integer("num_speculative_tokens", number("num_speculative_tokens"), atMost: 64) else {
            throw VLLMValidationError("--speculative-config: num_speculative_tokens is required", parameter: "speculative_config")
        }
        var low = try integer("prompt_lookup_min", number("prompt_lookup_min"), atMost: 1024)
        var high = try integer("prompt_lookup_max", number("prompt_lookup_max"), atMost: 1024)
        if low == nil && high == nil { (low, high) = (5, 5) }
        let min = low ?? high!, max = high ?? low!
        guard min <= max else {
            throw VLLMValidationError("prompt_lookup_min=\(min) must be <= prompt_lookup_max=\(max)", parameter: "speculative_config")
        }
        self.init(numSpeculativeTokens: k, promptLookupMin: min, promptLookupMax: max)
        self.draftModel = draftModel
    }
}
