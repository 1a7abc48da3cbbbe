import Foundation

/// vLLM's `--hf-overrides`: a JSON object merged into the model's config.json before anything reads it (a nested
/// object merged key by key, as vLLM updates a sub-config; any other value replaces the key's). Applied by handing
/// the loaders a folder that holds the model folder's files as symbolic links beside the merged config.json, so
/// every reader of config.json — the decoder's and encoder's configs, the pooling's Matryoshka fields, the
/// quantization config — sees the same values.
public enum HFOverrides {
    /// The overlay folder for `directory` with `json` merged into its config.json (a fresh temporary folder).
    public static func apply(_ json: String, to directory: URL) throws -> URL {
        guard let data = json.data(using: .utf8), let overrides = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ModelError("--hf-overrides must be a JSON object, got \(json)")
        }
        let configURL = directory.appendingPathComponent("config.json")
        guard let configData = try? Data(contentsOf: configURL),
              let config = (try? JSONSerialization.jsonObject(with: configData)) as? [String: Any] else {
            throw ModelError("--hf-overrides: \(configURL.path) is missing or not a JSON object")
        }
        let overlay = FileManager.default.temporaryDirectory
            .appendingPathComponent("swift-vllm-hf-overrides-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: overlay, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) where name != "config.json" {
            try FileManager.default.createSymbolicLink(at: overlay.appendingPathComponent(name),
                                                       withDestinationURL: directory.appendingPathComponent(name).absoluteURL)
        }
        let merged = try JSONSerialization.data(withJSONObject: merge(config, overrides), options: [.prettyPrinted, .sortedKeys])
        try merged.write(to: overlay.appendingPathComponent("config.json"))
        return overlay
    }

    /// `base` with `overrides` applied: objects merged recursively, every other value replaced.
    static func merge(_ base: [String: Any], _ overrides: [String: Any]) -> [String: Any] {
        var result = base
        for (key, value) in overrides {
            if let nested = value as? [String: Any], let existing = base[key] as? [String: Any] {
                result[key] = merge(existing, nested)
            } else {
                result[key] = value
            }
        }
        return result
    }
}
