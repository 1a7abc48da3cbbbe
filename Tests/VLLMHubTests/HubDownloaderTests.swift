import Foundation
import Testing
@testable import VLLMHub

/// The hub client and cache against a mock hub on loopback: what lands where (huggingface_hub's layout — the
/// live check, scripts/live_hub_check.py, has huggingface_hub itself read it and fill one for us), resuming,
/// integrity, offline mode, tokens and errors.
@Suite struct HubDownloaderTests {
    static let weights = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) }
    static let files: [String: [UInt8]] = [
        "config.json": Array(#"{"architectures": ["LlamaForCausalLM"]}"#.utf8),
        "tokenizer.json": Array(#"{"model": {}}"#.utf8),
        "generation_config.json": Array("{}".utf8),
        "model.safetensors": weights,
        "README.md": Array("# tiny".utf8),
        "pytorch_model.bin": [1, 2, 3],
        "onnx/model.onnx": [4, 5, 6],
        "1_Pooling/config.json": Array("{}".utf8),
    ]

    func temporaryCache() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("hub-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    func downloader(_ endpoint: String, cache: URL, token: String? = nil, offline: Bool = false) -> HubDownloader {
        HubDownloader(settings: HubSettings(endpoint: endpoint, token: token, cacheDirectory: cache, isOffline: offline), log: { _ in })
    }

    @Test func aSnapshotHoldsWhatAModelNeedsInHuggingFaceHubsLayout() async throws {
        let hub = MockHub(files: Self.files, lfs: ["model.safetensors"])
        let cache = try temporaryCache()
        let folder = try await hub.serve { try await downloader($0, cache: cache).snapshot(MockHub.repository) }
        let repo = cache.appendingPathComponent("models--test-org--tiny-model")
        #expect(folder.path == repo.appendingPathComponent("snapshots/\(MockHub.commit)").path)
        #expect(try String(contentsOf: repo.appendingPathComponent("refs/main"), encoding: .utf8) == MockHub.commit)
        let listed = try FileManager.default.subpathsOfDirectory(atPath: folder.path).filter { !$0.hasSuffix("1_Pooling") }.sorted()
        #expect(listed == ["1_Pooling/config.json", "config.json", "generation_config.json", "model.safetensors", "tokenizer.json"])
        for file in listed {
            #expect(try Data(contentsOf: folder.appendingPathComponent(file)) == Data(Self.files[file]!), "\(file)")
            let link = try FileManager.default.destinationOfSymbolicLink(atPath: folder.appendingPathComponent(file).path)
            #expect(link.hasPrefix(file.contains("/") ? "../../../blobs/" : "../../blobs/"), "\(file) → \(link)")
        }
        // The LFS file's blob is named by its sha256, as huggingface_hub names it.
        #expect(FileManager.default.fileExists(atPath: repo.appendingPathComponent("blobs/\(MockHub.sha256(Self.weights))").path))
        // A second run finds every blob and fetches nothing.
        let again = try await hub.serve { try await downloader($0, cache: cache).snapshot(MockHub.repository) }
        #expect(again == folder)
    }

    @Test func anInterruptedDownloadResumesWithARange() async throws {
        let hub = MockHub(files: Self.files, lfs: ["model.safetensors"])
        hub.state.withLock { $0.cutNextDownloadAfter = 100_000 }
        let cache = try temporaryCache()
        await #expect(throws: HubError.self) {
            _ = try await hub.serve { try await downloader($0, cache: cache).snapshot(MockHub.repository) }
        }
        let folder = try await hub.serve { try await downloader($0, cache: cache).snapshot(MockHub.repository) }
        #expect(hub.state.withLock { $0.rangeRequests } == ["bytes=100000-"])
        #expect(try Data(contentsOf: folder.appendingPathComponent("model.safetensors")) == Data(Self.weights))
    }

    /// A server that answers the resuming range request with the whole file (200) is taken at its word: the
    /// partial file starts over and the result is the file, not its first part twice.
    @Test func aResumeAnsweredWithTheWholeFileStartsOver() async throws {
        let hub = MockHub(files: Self.files, lfs: ["model.safetensors"])
        hub.state.withLock { $0.cutNextDownloadAfter = 100_000 }
        let cache = try temporaryCache()
        await #expect(throws: HubError.self) {
            _ = try await hub.serve { try await downloader($0, cache: cache).snapshot(MockHub.repository) }
        }
        hub.state.withLock { $0.ignoresRange = true }
        let folder = try await hub.serve { try await downloader($0, cache: cache).snapshot(MockHub.repository) }
        #expect(hub.state.withLock { $0.rangeRequests } == ["bytes=100000-"])
        #expect(try Data(contentsOf: folder.appendingPathComponent("model.safetensors")) == Data(Self.weights))
    }

    @Test func aCorruptDownloadIsRefusedNamingTheHash() async throws {
        let hub = MockHub(files: Self.files, lfs: ["model.safetensors"])
        hub.state.withLock { $0.corruptLFS = true }
        let cache = try temporaryCache()
        await #expect {
            _ = try await hub.serve { try await downloader($0, cache: cache).snapshot(MockHub.repository) }
        } throws: { "\($0)".contains("model.safetensors: sha256") && "\($0)".contains(MockHub.sha256(Self.weights)) }
    }

    @Test func offlineModeServesTheCacheAloneAndSaysWhatIsMissing() async throws {
        let hub = MockHub(files: Self.files, lfs: ["model.safetensors"])
        let cache = try temporaryCache()
        let online = try await hub.serve { try await downloader($0, cache: cache).snapshot(MockHub.repository) }
        let offline = try await downloader("http://127.0.0.1:9", cache: cache, offline: true).snapshot(MockHub.repository)
        #expect(offline == online)
        await #expect {
            _ = try await downloader("http://127.0.0.1:9", cache: cache, offline: true).snapshot("other-org/absent")
        } throws: { "\($0)".contains("HF_HUB_OFFLINE") && "\($0)".contains("other-org/absent") }
    }

    @Test func tokensGoToTheHubAndTheirAbsenceIsExplained() async throws {
        let hub = MockHub(files: Self.files, lfs: ["model.safetensors"])
        hub.state.withLock { $0.requiredToken = "hf_secret" }
        let cache = try temporaryCache()
        await #expect {
            _ = try await hub.serve { try await downloader($0, cache: cache).snapshot(MockHub.repository) }
        } throws: { "\($0)".contains("401") && "\($0)".contains("HF_TOKEN") }
        _ = try await hub.serve { try await downloader($0, cache: cache, token: "hf_secret").snapshot(MockHub.repository) }
        #expect(hub.state.withLock { $0.authorizations }.last == "Bearer hf_secret")
        await #expect {
            _ = try await hub.serve { try await downloader($0, cache: cache, token: "hf_secret").snapshot("test-org/no-such-model") }
        } throws: { "\($0)".contains("not found") }
    }

    @Test func settingsFollowHuggingFaceHubsEnvironment() {
        let a = HubSettings.fromEnvironment(["HF_HOME": "/data/hf", "HF_ENDPOINT": "https://mirror.example/", "HF_HUB_OFFLINE": "1",
                                             "HF_TOKEN": "t"])
        #expect(a.cacheDirectory.path == "/data/hf/hub" && a.endpoint == "https://mirror.example" && a.isOffline && a.token == "t")
        let b = HubSettings.fromEnvironment(["HOME": "/home/u", "HF_HUB_CACHE": "/cache", "HUGGING_FACE_HUB_TOKEN": "old"])
        #expect(b.cacheDirectory.path == "/cache" && b.endpoint == "https://huggingface.co" && !b.isOffline && b.token == "old")
        let c = HubSettings.fromEnvironment(["HOME": "/home/u"], downloadDirectory: "/models")
        #expect(c.cacheDirectory.path == "/models")
        #expect(HubSettings.fromEnvironment(["HOME": "/home/u"]).cacheDirectory.path == "/home/u/.cache/huggingface/hub")
    }

    /// The modelscope client's defaults and layout (its cache read back by the client in scripts/live_hub_check.py).
    @Test func modelScopeSettingsAndLayout() {
        let settings = ModelScopeDownloader.settings(["HOME": "/home/u"])
        #expect(settings.endpoint == "https://www.modelscope.cn" && settings.cacheDirectory.path == "/home/u/.cache/modelscope")
        let custom = ModelScopeDownloader.settings(["MODELSCOPE_CACHE": "/ms", "MODELSCOPE_ENDPOINT": "http://mirror/", "HF_HUB_OFFLINE": "1"])
        #expect(custom.endpoint == "http://mirror" && custom.isOffline)
        #expect(ModelScopeDownloader(settings: custom, log: { _ in }).snapshotFolder("Qwen/Qwen2.5-7B-Instruct", revision: "master").path
                == "/ms/models/Qwen--Qwen2.5-7B-Instruct/snapshots/master")
    }

    @Test func hubIDsAreToldFromFolders() {
        #expect(HubRepositoryID.isHubID("Qwen/Qwen2.5-14B-Instruct-GPTQ-Int4"))
        #expect(HubRepositoryID.isHubID("BAAI/bge-m3"))
        #expect(!HubRepositoryID.isHubID("/models/qwen"))
        #expect(!HubRepositoryID.isHubID("./qwen"))
        #expect(!HubRepositoryID.isHubID("a/b/c"))
        #expect(!HubRepositoryID.isHubID("org/na me"))
    }

    @Test func aRepositoryWithoutSafetensorsIsRefused() throws {
        #expect { try HubDownloader.neededFiles(["config.json", "pytorch_model.bin"], repository: "o/n") }
            throws: { "\($0)".contains("no .safetensors") }
        #expect { try HubDownloader.neededFiles(["model.safetensors"], repository: "o/n") } throws: { "\($0)".contains("no config.json") }
        #expect(try HubDownloader.neededFiles(["config.json", "consolidated.safetensors", "model-00001-of-00002.safetensors",
                                               "model-00002-of-00002.safetensors", "model.safetensors.index.json"], repository: "o/n")
                == ["config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json"])
        // A PEFT adapter's repository, as PEFT's push_to_hub leaves it.
        #expect(try HubDownloader.neededFiles(["README.md", "adapter_config.json", "adapter_model.safetensors"], repository: "o/lora")
                == ["adapter_config.json", "adapter_model.safetensors"])
    }

    /// FIPS 180-2's examples (the standard's own test vectors).
    @Test func sha256MatchesTheStandardsExamples() {
        var abc = SHA256()
        abc.update(Array("abc".utf8))
        #expect(abc.finalizeHex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        var long = SHA256()
        long.update(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
        #expect(long.finalizeHex() == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        var million = SHA256()
        for _ in 0..<1000 { million.update([UInt8](repeating: 0x61, count: 1000)) }
        #expect(million.finalizeHex() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}
