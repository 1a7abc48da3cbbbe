import Foundation
import VLLMCore

extension SpeculativeConfig {
    /// Reads vLLM's JSON, with vLLM's defaults: `method` may also come as `"model": "ngram"`; with neither lookup
    /// bound both are 5, with one the other equals it.
    public init(json text: String) throws(VLLMValidationError) {
        guard let data = text.data(using: .utf8),
            let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        else {
            throw VLLMValidationError("--speculative-config must be a JSON object, got \(text)", parameter: "speculative_config")
        }
        let known: Set<String> = ["method", "model", "num_speculative_tokens", "prompt_lookup_min", "prompt_lookup_max"]
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw VLLMValidationError(
                "--speculative-config: '\(unknown)' is not supported (this engine takes method, num_speculative_tokens, "
                    + "prompt_lookup_min and prompt_lookup_max)", parameter: "speculative_config")
        }
        let method = (object["method"] as? String) ?? (object["model"] as? String)
        guard let method, method == "ngram" || method == "[ngram]" else {
            let asked = (object["method"] as? String) ?? (object["model"] as? String).map { "a draft model (\($0))" } ?? "no method"
            throw VLLMValidationError(
                "--speculative-config: \(asked) is not supported yet; use {\"method\": \"ngram\", \"num_speculative_tokens\": k}",
                parameter: "speculative_config")
        }
        func integer(_ key: String) throws(VLLMValidationError) -> Int? {
            guard let value = object[key] else { return nil }
            guard let number = value as? NSNumber, let int = Int(exactly: number.doubleValue), !(value is Bool), int >= 1 else {
                throw VLLMValidationError("--speculative-config: \(key) must be a positive integer, got \(value)", parameter: "speculative_config")
            }
            return int
        }
        guard let k = try integer("num_speculative_tokens") else {
            throw VLLMValidationError("--speculative-config: num_speculative_tokens is required", parameter: "speculative_config")
        }
        var low = try integer("prompt_lookup_min"), high = try integer("prompt_lookup_max")
        if low == nil && high == nil { (low, high) = (5, 5) }
        let min = low ?? high!, max = high ?? low!
        guard min <= max else {
            throw VLLMValidationError("prompt_lookup_min=\(min) must be <= prompt_lookup_max=\(max)", parameter: "speculative_config")
        }
        self.init(numSpeculativeTokens: k, promptLookupMin: min, promptLookupMax: max)
    }
}
