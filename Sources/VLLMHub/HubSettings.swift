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

    /// `endpoint` is kept without trailing slashes (URLs are built by appending paths to it).
    public init(endpoint: String, token: String?, cacheDirectory: URL, isOffline: Bool) {
        var endpoint = endpoint
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        self.endpoint = endpoint
        self.token = token
        self.cacheDirectory = cacheDirectory
        self.isOffline = isOffline
    }

    /// The settings the environment gives; `downloadDirectory`: `--download-dir`.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment,
                                       downloadDirectory: String? = nil) -> HubSettings {
        let env = Environment(environment)
        let home = env.value("HF_HOME") ?? ((env.value("XDG_CACHE_HOME") ?? env.home + "/.cache") + "/huggingface")
        let cache = downloadDirectory ?? env.value("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE") ?? home + "/hub"
        return HubSettings(endpoint: env.value("HF_ENDPOINT") ?? "https://huggingface.co", token: env.value("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"),
                           cacheDirectory: URL(fileURLWithPath: cache), isOffline: env.isTrue("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))
    }

    /// The environment as huggingface_hub (and the modelscope client) read it: an empty variable is unset.
    struct Environment {
        let variables: [String: String]
        init(_ variables: [String: String]) { self.variables = variables }

        /// The first of `names` that is set.
        func value(_ names: String...) -> String? {
            names.lazy.compactMap { variables[$0].flatMap { $0.isEmpty ? nil : $0 } }.first
        }

        /// Whether the first of `names` that is set says yes (1, on, yes, true).
        func isTrue(_ names: String...) -> Bool {
            let text = names.lazy.compactMap { variables[$0].flatMap { $0.isEmpty ? nil : $0 } }.first ?? ""
            return ["1", "ON", "YES", "TRUE"].contains(text.uppercased())
        }

        var home: String { value("HOME") ?? NSHomeDirectory() }
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
