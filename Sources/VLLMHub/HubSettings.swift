import Foundation

/// Where models come from and go, read from the environment as huggingface_hub reads it (and vLLM through it):
/// `HF_ENDPOINT`, `HF_TOKEN` (or `HUGGING_FACE_HUB_TOKEN`), `HF_HUB_OFFLINE`, the cache at `HF_HUB_CACHE`, else
/// `HF_HOME/hub`, else `~/.cache/huggingface/hub`; vLLM's `--download-dir` replaces the cache folder.
public struct HubSettings: Sendable {
    public var endpoint: String
    public var token: String?
    /// The cache's root: it holds one `models--org--name` folder per repository.
    public var cacheDirectory: URL
    /// Serve from the cache alone; nothing is fetched.
    public var isOffline: Bool

    public init(endpoint: String, token: String?, cacheDirectory: URL, isOffline: Bool) {
        self.endpoint = endpoint
        self.token = token
        self.cacheDirectory = cacheDirectory
        self.isOffline = isOffline
    }

    /// The settings the environment gives; `downloadDirectory`: `--download-dir`.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment,
                                       downloadDirectory: String? = nil) -> HubSettings {
        func value(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }
        let home = value("HF_HOME") ?? ((value("XDG_CACHE_HOME") ?? ((value("HOME") ?? NSHomeDirectory()) + "/.cache")) + "/huggingface")
        let cache = downloadDirectory ?? value("HF_HUB_CACHE") ?? value("HUGGINGFACE_HUB_CACHE") ?? home + "/hub"
        let offline = ["1", "ON", "YES", "TRUE"].contains((value("HF_HUB_OFFLINE") ?? value("TRANSFORMERS_OFFLINE") ?? "").uppercased())
        var endpoint = value("HF_ENDPOINT") ?? "https://huggingface.co"
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        return HubSettings(endpoint: endpoint, token: value("HF_TOKEN") ?? value("HUGGING_FACE_HUB_TOKEN"),
                           cacheDirectory: URL(fileURLWithPath: cache), isOffline: offline)
    }
}

/// A failure of the hub or of the cache, naming the repository, the file and what to do.
public struct HubError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A repository id as the hub spells it: `org/name` (or a bare `name`), letters, digits, `-`, `_` and `.`.
public enum HubRepositoryID {
    /// Whether `text` names a hub repository rather than a folder: it is not an existing path and reads as an id.
    public static func isHubID(_ text: String) -> Bool {
        guard !FileManager.default.fileExists(atPath: text), !text.hasPrefix("/"), !text.hasPrefix("."), !text.hasPrefix("~") else {
            return false
        }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return false }
        return parts.allSatisfy { part in
            !part.isEmpty && part.count <= 96 && !part.hasPrefix(".") && !part.hasPrefix("-")
                && part.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
        }
    }
}
