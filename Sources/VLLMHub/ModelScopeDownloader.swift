import Foundation

/// `VLLM_USE_MODELSCOPE=true`: models by ModelScope id, as the `modelscope` client fetches them — its file listing
/// (`GET {endpoint}/api/v1/models/{id}/repo/files?Revision=&Recursive=True`, each file's size and sha256), each file
/// from `GET …/repo?Revision=&FilePath=` (resumed with Range), and its cache layout
/// `{MODELSCOPE_CACHE}/models/{owner}--{name}/snapshots/{revision}/{file}` (plain files; default revision `master`,
/// cache `~/.cache/modelscope`, endpoint `MODELSCOPE_ENDPOINT` or https://www.modelscope.cn). Offline
/// (`HF_HUB_OFFLINE=1`, as vLLM reads it for both hubs): the cached snapshot alone.
public struct ModelScopeDownloader: Sendable {
    public var settings: HubSettings
    public var log: @Sendable (String) -> Void
    /// False: the tokenizer, configs and templates alone, no weights (as `HubDownloader.weights`).
    public var weights: Bool

    public init(settings: HubSettings, log: @escaping @Sendable (String) -> Void, weights: Bool = true) {
        self.settings = settings
        self.log = log
        self.weights = weights
    }

    /// The settings the environment gives for ModelScope; `downloadDirectory`: `--download-dir`.
    public static func settings(_ environment: [String: String] = ProcessInfo.processInfo.environment,
                                downloadDirectory: String? = nil) -> HubSettings {
        let env = HubSettings.Environment(environment)
        let cache = downloadDirectory ?? env.value("MODELSCOPE_CACHE") ?? env.home + "/.cache/modelscope"
        return HubSettings(endpoint: env.value("MODELSCOPE_ENDPOINT") ?? "https://www.modelscope.cn", token: env.value("MODELSCOPE_API_TOKEN"),
                           cacheDirectory: URL(fileURLWithPath: cache), isOffline: env.isTrue("HF_HUB_OFFLINE"))
    }

    struct Listing: Decodable {
        struct Payload: Decodable { var Files: [File] }
        struct File: Decodable { var Path: String; var `Type`: String?; var Size: Int?; var Sha256: String? }
        var Data: Payload?
        var Message: String?
    }

    public func snapshotFolder(_ model: String, revision: String) -> URL {
        settings.cacheDirectory.appendingPathComponent("models/\(model.replacingOccurrences(of: "/", with: "--"))/snapshots/\(revision)")
    }

    public func snapshot(_ model: String, revision: String = "master") async throws -> URL {
        let folder = snapshotFolder(model, revision: revision)
        if settings.isOffline {
            guard ["config.json", "adapter_config.json"].contains(where: {
                FileManager.default.fileExists(atPath: folder.appendingPathComponent($0).path)
            }) else {
                throw HubError("HF_HUB_OFFLINE is set and ModelScope's \(model) (revision '\(revision)') is not in the cache at "
                               + "\(settings.cacheDirectory.path)")
            }
            return folder
        }
        let client = HubClient(settings: settings)
        do {
            let base = "\(settings.endpoint)/api/v1/models/\(model)"
            let listing = try await client.json(
                Listing.self, "\(base)/repo/files?Revision=\(HubClient.escape(revision))&Recursive=True",
                what: "ModelScope's \(model) at revision '\(revision)'")
            guard let files = listing.Data?.Files else {
                throw HubError("ModelScope: \(model) at revision '\(revision)': \(listing.Message ?? "no file list")")
            }
            let byPath = Dictionary(files.filter { $0.Type != "tree" }.map { ($0.Path, $0) }, uniquingKeysWith: { a, _ in a })
            let needed = try HubDownloader.neededFiles(Array(byPath.keys), repository: model, weights: weights)
            let progress = DownloadProgress(repository: model, numFiles: needed.count, log: log, isTerminal: false)
            _ = try await HubDownloader.concurrently(needed) { path in
                let entry = byPath[path]!
                let target = folder.appendingPathComponent(path)
                if let size = entry.Size, (try? FileManager.default.attributesOfItem(atPath: target.path))?[.size] as? Int == size {
                    progress.add(file: path, bytes: size, total: size, cached: true)
                    return
                }
                let metadata = HubClient.FileMetadata(
                    commit: revision, etag: entry.Sha256 ?? "", size: entry.Size ?? -1,
                    location: "\(base)/repo?Revision=\(HubClient.escape(revision))&FilePath=\(HubClient.escape(path))")
                try await HubDownloader.fetch(metadata, into: target, file: path, of: model, client: client, progress: progress)
            }
            progress.finish()
            await client.shutdown()
            return folder
        } catch {
            await client.shutdown()
            throw error
        }
    }
}
