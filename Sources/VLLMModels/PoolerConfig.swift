import Foundation

extension PoolingConfig {
    /// The pooling with vLLM's `--pooler-config` JSON applied over what the model folder says: `pooling_type`
    /// (or `seq_pooling_type`) CLS, LAST or MEAN; `use_activation` (normalize embeddings or not); `dimensions` (the
    /// default Matryoshka length, checked as a request's). vLLM's other fields (chunked processing, classifier
    /// calibration, step pooling) and token-wise pooling (ALL, STEP) are refused by name, as is the removed `normalize`.
    public func applying(poolerConfig text: String, embeddingSize: Int, modelName: String) throws -> PoolingConfig {
        guard let data = text.data(using: .utf8),
              let parsed = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        else { throw ModelError("--pooler-config must be a JSON object, got \(text)") }
        if parsed["normalize"] != nil {  // even null, as vLLM checks for the key
            throw ModelError("--pooler-config: Parameter `normalize` was removed; use `use_activation` instead.")
        }
        let object = parsed.filter { !($0.value is NSNull) }  // vLLM's fields are optional: null leaves one unset
        let supported: Set<String> = ["pooling_type", "seq_pooling_type", "use_activation", "dimensions", "task"]
        let known: Set<String> = supported.union(["tok_pooling_type", "enable_chunked_processing", "max_embed_len", "logit_mean",
                                                  "logit_sigma", "step_tag_id", "returned_token_ids"])
        for key in object.keys.sorted() where !supported.contains(key) {
            throw ModelError(known.contains(key)
                ? "--pooler-config: '\(key)' is not supported by swift-vllm (it takes pooling_type, seq_pooling_type, use_activation and dimensions)"
                : "--pooler-config: unknown field '\(key)'")
        }
        var config = self
        if let task = object["task"] {
            guard task as? String == "embed" else { throw ModelError("--pooler-config: task \(task) is not supported here (only embed)") }
        }
        if object["pooling_type"] != nil, object["seq_pooling_type"] != nil {
            throw ModelError("--pooler-config: Cannot set both `pooling_type` and `seq_pooling_type`")
        }
        if let raw = object["pooling_type"] ?? object["seq_pooling_type"] {
            guard let name = raw as? String, let method = Method(rawValue: name) else {
                let tokenwise = ["ALL", "STEP"].contains(raw as? String ?? "")
                throw ModelError("--pooler-config: pooling type \(raw) is not supported"
                                 + (tokenwise ? " (token-wise pooling is not built)" : "") + "; use CLS, LAST or MEAN")
            }
            config.method = method
        }
        // A JSON value as JSONDecoder reads it: `true` is no integer, 1 no Bool, 1.5 neither.
        func value<T: Decodable>(_ key: String, as type: T.Type) -> T? {
            guard let raw = object[key], let data = try? JSONSerialization.data(withJSONObject: raw, options: .fragmentsAllowed)
            else { return nil }
            return try? JSONDecoder().decode(T.self, from: data)
        }
        if let raw = object["use_activation"] {
            guard let flag = value("use_activation", as: Bool.self) else {
                throw ModelError("--pooler-config: use_activation must be true or false, got \(raw)")
            }
            config.normalize = flag
        }
        if let raw = object["dimensions"] {
            guard let value = value("dimensions", as: Int.self) else {
                throw ModelError("--pooler-config: dimensions must be an integer, got \(raw)")
            }
            config.dimensions = try check(dimensions: value, embeddingSize: embeddingSize, modelName: modelName)
        }
        return config
    }
}
