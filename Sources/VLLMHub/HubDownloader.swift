import Foundation
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// A model named by its hub id, made a local folder: the snapshot of huggingface_hub's cache that holds every
/// file a model needs — config, tokenizer, chat template, generation config, safetensors weights — fetched where
/// missing (several files at once, resumed from a partial download, each checked against the size and, for LFS
/// files, the sha256 the hub gives), or, with `HF_HUB_OFFLINE=1`, found in the cache alone.
public struct HubDownloader: Sendable {
    public var settings: HubSettings
    /// Where progress goes: a bar redrawn in place on a terminal, else one line per file.
    public var log: @Sendable (String) -> Void
    public var isTerminal: Bool
    /// False: the tokenizer, configs and templates alone (what a benchmark client needs), no weights.
    public var weights: Bool
    public static let maxConcurrentFiles = 8

    public init(settings: HubSettings, log: @escaping @Sendable (String) -> Void, isTerminal: Bool = false, weights: Bool = true) {
        self.settings = settings
        self.log = log
        self.isTerminal = isTerminal
        self.weights = weights
    }

    /// The local folder of `repository` at `revision`.
    public func snapshot(_ repository: String, revision: String = "main") async throws -> URL {
        let cache = HubCache(root: settings.cacheDirectory)
        if settings.isOffline {
            guard let commit = cache.commit(repository, revision: revision) else {
                throw HubError("HF_HUB_OFFLINE is set and \(repository) (revision '\(revision)') is not in the cache at "
                               + "\(settings.cacheDirectory.path): download it first (swift-vllm download \(repository)) or unset HF_HUB_OFFLINE")
            }
            guard cache.hasFile(repository, commit: commit, file: "config.json")
                || cache.hasFile(repository, commit: commit, file: "adapter_config.json") else {
                throw HubError("HF_HUB_OFFLINE is set and the cached snapshot \(cache.snapshotFolder(repository, commit: commit).path) "
                               + "has no config.json (nor adapter_config.json)")
            }
            return cache.snapshotFolder(repository, commit: commit)
        }
        let client = HubClient(settings: settings)
        do {
            let folder = try await fetch(repository, revision: revision, client: client, cache: cache)
            await client.shutdown()
            return folder
        } catch {
            await client.shutdown()
            throw error
        }
    }

    private func fetch(_ repository: String, revision: String, client: HubClient, cache: HubCache) async throws -> URL {
        let info = try await client.repositoryInfo(repository, revision: revision)
        let files = try Self.neededFiles(info.siblings.map(\.rfilename), repository: repository, weights: weights)
        // Every file's metadata first (at the commit, so a branch moving meanwhile cannot mix revisions), then each
        // distinct blob once — files of equal contents share one, as in huggingface_hub —, then the links.
        let metadata = try await Self.concurrently(files) { file in
            try await client.metadata(repository, revision: info.sha, file: file)
        }
        var blobs: [String: (file: String, metadata: HubClient.FileMetadata)] = [:]
        for (file, item) in zip(files, metadata) where blobs[item.etag] == nil { blobs[item.etag] = (file, item) }
        let progress = DownloadProgress(repository: repository, numFiles: blobs.count, log: log, isTerminal: isTerminal)
        _ = try await Self.concurrently(Array(blobs.values)) { blob in
            try await self.fetchBlob(blob.file, metadata: blob.metadata, of: repository, client: client, cache: cache, progress: progress)
        }
        for (file, item) in zip(files, metadata) { try cache.link(repository, commit: info.sha, file: file, etag: item.etag) }
        try cache.recordRef(repository, revision: revision, commit: info.sha)
        progress.finish()
        return cache.snapshotFolder(repository, commit: info.sha)
    }

    /// `body` over `items`, at most `maxConcurrentFiles` at once; results in `items`' order.
    static func concurrently<Item: Sendable, Result: Sendable>(_ items: [Item], _ body: @escaping @Sendable (Item) async throws -> Result)
        async throws -> [Result] {
        try await withThrowingTaskGroup(of: (Int, Result).self) { group in
            var results = [Result?](repeating: nil, count: items.count)
            var next = 0
            func startNext() {
                guard next < items.count else { return }
                let index = next
                next += 1
                group.addTask { (index, try await body(items[index])) }
            }
            for _ in 0..<maxConcurrentFiles { startNext() }
            while let (index, result) = try await group.next() {
                results[index] = result
                startNext()
            }
            return results.map { $0! }
        }
    }

    private func fetchBlob(_ file: String, metadata: HubClient.FileMetadata, of repository: String, client: HubClient, cache: HubCache,
                           progress: DownloadProgress) async throws {
        let blob = cache.blob(repository, etag: metadata.etag)
        if let size = (try? FileManager.default.attributesOfItem(atPath: blob.path))?[.size] as? Int, size == metadata.size {
            progress.add(file: file, bytes: metadata.size, total: metadata.size, cached: true)
            return
        }
        try await Self.fetch(metadata, into: blob, file: file, of: repository, client: client, progress: progress)
    }

    /// Downloads `metadata.location` to `target` through `target.incomplete`, resuming from what that holds, checks
    /// it (`verify`) and moves it into place.
    static func fetch(_ metadata: HubClient.FileMetadata, into target: URL, file: String, of repository: String, client: HubClient,
                      progress: DownloadProgress) async throws {
        let manager = FileManager.default
        try manager.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        let partial = target.appendingPathExtension("incomplete")
        if !manager.fileExists(atPath: partial.path) { _ = manager.createFile(atPath: partial.path, contents: nil) }
        var offset = ((try? manager.attributesOfItem(atPath: partial.path))?[.size] as? Int) ?? 0
        if metadata.size >= 0 && offset > metadata.size { offset = 0 }
        let handle = try FileHandle(forWritingTo: partial)
        try handle.truncate(atOffset: UInt64(offset))
        try handle.seekToEnd()
        progress.add(file: file, bytes: offset, total: metadata.size, cached: false, starting: true)
        var written = offset
        do {
            _ = try await client.download(metadata.location, from: offset, what: "\(repository)/\(file)", restart: {
                // The server sent the whole file, not the rest of it: the partial file starts over.
                try handle.truncate(atOffset: 0)
                progress.add(file: file, bytes: -written, total: metadata.size, cached: false)
                written = 0
            }) { chunk in
                try handle.write(contentsOf: Data(chunk.readableBytesView))
                written += chunk.readableBytes
                progress.add(file: file, bytes: chunk.readableBytes, total: metadata.size, cached: false)
            }
            try handle.close()
        } catch let error as HubError {
            try? handle.close()
            throw error
        } catch {
            try? handle.close()
            throw HubError("hub: \(repository)/\(file): the download stopped at \(written) of \(metadata.size) bytes (\(error)); "
                           + "the partial file is kept: run again to resume")
        }
        try verify(partial, metadata: metadata, what: "\(repository)/\(file)")
        try? manager.removeItem(at: target)
        try manager.moveItem(at: partial, to: target)
        progress.fileDone(file)
    }

    /// The size the hub announced and, for an LFS file (whose ETag is its sha256), the hash; a corrupt download is
    /// deleted so the next attempt starts afresh.
    static func verify(_ file: URL, metadata: HubClient.FileMetadata, what: String) throws {
        let size = ((try? FileManager.default.attributesOfItem(atPath: file.path))?[.size] as? Int) ?? -1
        guard size == metadata.size || (metadata.size < 0 && size >= 0) else {
            throw HubError("hub: \(what): got \(size) bytes, the hub announced \(metadata.size) (the partial file is kept; run again to resume)")
        }
        guard metadata.etag.count == 64, metadata.etag.allSatisfy(\.isHexDigit) else { return }
        var hash = SHA256()
        let handle = try FileHandle(forReadingFrom: file)
        defer { try? handle.close() }
        while let chunk = try handle.read(upToCount: 8 << 20), !chunk.isEmpty {
            chunk.withUnsafeBytes { hash.update($0) }
        }
        let digest = hash.finalizeHex()
        guard digest == metadata.etag.lowercased() else {
            try? FileManager.default.removeItem(at: file)
            throw HubError("hub: \(what): sha256 \(digest) differs from the hub's \(metadata.etag); the download was deleted, run again")
        }
    }

    /// What a model needs of a repository, as vLLM fetches it: the top-level JSON files (config, tokenizer,
    /// generation config, safetensors index, quantization), chat templates, tokenizer vocabularies and the
    /// safetensors weights — not PyTorch `.bin` / ONNX / GGUF copies, READMEs or images — and the
    /// sentence-transformers pooling config. A PEFT adapter's repository (adapter_config.json, no config.json) is
    /// fetched the same way, as vLLM fetches `--lora-modules` given by hub id.
    public static func neededFiles(_ names: [String], repository: String, weights: Bool = true) throws -> [String] {
        let kept = [".json", ".safetensors", ".jinja", ".txt", ".model", ".tiktoken"]
        var files = names.filter { name in
            (!name.contains("/") && kept.contains { name.hasSuffix($0) }) || name == "1_Pooling/config.json"
        }
        guard files.contains("config.json") || files.contains("adapter_config.json") else {
            throw HubError("hub: \(repository) has no config.json (nor adapter_config.json): not a transformers model or PEFT "
                           + "adapter repository")
        }
        guard weights else { return files.filter { !$0.hasSuffix(".safetensors") && !$0.hasSuffix(".safetensors.index.json") }.sorted() }
        let weights = files.filter { $0.hasSuffix(".safetensors") }
        if weights.isEmpty {
            throw HubError("hub: \(repository) has no .safetensors weights (swift-vllm reads safetensors only; "
                           + "its files: \(names.prefix(12).joined(separator: ", ")))")
        }
        // Mistral's repositories hold both layouts; the transformers one is what loads.
        if weights.contains(where: { $0.hasPrefix("model") }) {
            files.removeAll { $0.hasPrefix("consolidated") && $0.hasSuffix(".safetensors") }
        }
        return files.sorted()
    }
}

/// Download progress across a snapshot's files: on a terminal one line redrawn at most 4 times a second, else a
/// line per file as it completes.
final class DownloadProgress: @unchecked Sendable {
    // @unchecked: all state under `lock`.
    private let repository: String, numFiles: Int
    private let log: @Sendable (String) -> Void
    private let isTerminal: Bool
    private let lock = NSLock()
    private var received: [String: Int] = [:], totals: [String: Int] = [:]
    private var numDone = 0, numCached = 0
    private var lastDraw = 0.0
    private let start = Date()

    init(repository: String, numFiles: Int, log: @escaping @Sendable (String) -> Void, isTerminal: Bool) {
        self.repository = repository
        self.numFiles = numFiles
        self.log = log
        self.isTerminal = isTerminal
    }

    func add(file: String, bytes: Int, total: Int, cached: Bool, starting: Bool = false) {
        lock.lock()
        defer { lock.unlock() }
        totals[file] = total
        received[file, default: 0] += bytes
        if cached {
            numDone += 1
            numCached += 1
        }
        if starting && !isTerminal && bytes > 0 { log("resuming \(repository)/\(file) at \(Self.size(bytes))") }
        draw()
    }

    func fileDone(_ file: String) {
        lock.lock()
        defer { lock.unlock() }
        numDone += 1
        if !isTerminal {
            log("downloaded \(repository)/\(file) (\(Self.size(totals[file] ?? 0)))")
        }
        draw()
    }

    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if isTerminal { FileHandle.standardError.write(Data("\n".utf8)) }
        let bytes = received.values.reduce(0, +)
        log("\(repository): \(numFiles) files, \(Self.size(bytes)) (\(numCached) already in the cache) in "
            + String(format: "%.1f s", Date().timeIntervalSince(start)))
    }

    private func draw() {
        guard isTerminal else { return }
        let now = Date().timeIntervalSince(start)
        guard now - lastDraw >= 0.25 || numDone == numFiles else { return }
        lastDraw = now
        let bytes = received.values.reduce(0, +), total = totals.values.reduce(0, +)
        let fraction = total > 0 ? Double(bytes) / Double(total) : 0
        let bar = String(repeating: "█", count: Int(fraction * 30)) + String(repeating: "░", count: 30 - Int(fraction * 30))
        let rate = now > 0 ? Double(bytes) / now : 0
        FileHandle.standardError.write(Data("\r\(repository) \(bar) \(numDone)/\(numFiles) files \(Self.size(bytes)) / \(Self.size(total)) \(Self.size(Int(rate)))/s   ".utf8))
    }

    static func size(_ bytes: Int) -> String {
        let units = ["B", "KB", "MB", "GB", "TB"]
        var value = Double(bytes), unit = 0
        while value >= 1000 && unit < units.count - 1 { value /= 1000; unit += 1 }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f", value) + " " + units[unit]
    }
}
