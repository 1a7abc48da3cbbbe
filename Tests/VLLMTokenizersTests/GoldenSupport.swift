import Foundation
import Synchronization
import Testing

@testable import VLLMTokenizers

/// Where the goldens (written by scripts/make_tokenizer_goldens.py from HF tokenizers) and ../shared live.
enum GoldenSupport {
    static let testsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    static let goldens = testsDirectory.appendingPathComponent("Goldens")
    static let repoRoot = testsDirectory.deletingLastPathComponent().deletingLastPathComponent()
    static let workRoot = repoRoot.deletingLastPathComponent()
    static let shared = workRoot.appendingPathComponent("shared")

    /// Loaded tokenizers, shared by the tests (loading a large tokenizer.json in a debug build is slow).
    private static let loaded = Mutex<[String: Tokenizer]>([:])

    static func tokenizer(_ name: String) throws -> Tokenizer? {
        if let hit = loaded.withLock({ $0[name] }) { return hit }
        guard let directory = try directory(for: name) else { return nil }
        let tokenizer = try Tokenizer.load(modelDirectory: directory)
        loaded.withLock { $0[name] = tokenizer }
        return tokenizer
    }

    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    static func json(_ url: URL) throws -> JSONValue {
        try JSONValue.parse(Array(try Data(contentsOf: url)), source: url.lastPathComponent)
    }

    static func golden(_ name: String) throws -> JSONValue {
        try json(goldens.appendingPathComponent("\(name).json"))
    }

    /// Every tokenizer the goldens cover.
    static var tokenizerNames: [String] {
        (try? golden("index"))?["tokenizers"]?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    /// The folder a golden's tokenizer is loaded from; nil (after recording why) when ../shared is absent
    /// outside CI. In CI an absent ../shared fails.
    static func directory(for name: String) throws -> URL? {
        let golden = try golden(name)
        if let sharedPath = golden["shared_path"]?.stringValue {
            let url = workRoot.appendingPathComponent(sharedPath)
            guard FileManager.default.fileExists(atPath: url.path) else {
                if isCI { Issue.record("\(url.path) is missing (CI=true)") }
                print("note: skipping \(name): \(url.path) not found")
                return nil
            }
            if name == "gpt2-legacy" { return try legacyCopy(of: url) }
            return url
        }
        return goldens.appendingPathComponent("synthetic").appendingPathComponent(name)
    }

    /// A temporary folder with GPT-2's vocab.json + merges.txt and configs, without tokenizer.json: one per
    /// call, since tests running in parallel each make one (a shared folder was re-copied under a reader).
    static func legacyCopy(of url: URL) throws -> URL {
        let target = FileManager.default.temporaryDirectory.appendingPathComponent("vllm-gpt2-legacy-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
        for file in ["vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"] {
            try FileManager.default.copyItem(at: url.appendingPathComponent(file), to: target.appendingPathComponent(file))
        }
        return target
    }
}

extension JSONValue {
    var intArray: [Int]? { arrayValue?.compactMap(\.intValue) }
}
