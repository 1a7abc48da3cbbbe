import Foundation
import Testing
import VLLMCPU
import VLLMCore
import VLLMEngine
@testable import VLLMServer

/// A real `AsyncEngine` (the tiny Llama of the engine's goldens, on the CPU, `--enable-lora --max-loras 2`) behind
/// the server: requests naming adapters from `--lora-modules` and from `/v1/load_lora_adapter` get PEFT's greedy
/// tokens (Tests/VLLMModelsTests/Goldens/lora/golden.json, scripts/make_lora_goldens.py), and the engine's own
/// refusals of a bad folder come back as vLLM's statuses.
@Suite struct LoRAEngineServingTests {
    struct Golden: Decodable {
        struct Case: Decodable {
            var model: String
            var adapter: String?
            var prompt_index: Int
            var greedy_token_ids: [Int]
        }
        var prompts: [[Int]]
        var cases: [Case]
    }

    static let goldens = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("VLLMModelsTests/Goldens")
    static let lora = goldens.appendingPathComponent("lora")

    /// Text is each token id and a space, so a completion's text says which tokens were generated.
    struct IdDetokenizer: DetokenizerFactory, StreamingDetokenizer {
        func makeDetokenizer(promptTokenIds: [Int], skipSpecialTokens: Bool, spacesBetweenSpecialTokens: Bool)
            -> any StreamingDetokenizer { self }
        mutating func append(_ tokenId: Int) -> String { "\(tokenId) " }
        mutating func finish() -> String { "" }
    }

    @Test func adaptersServeTheirOwnTokens() async throws {
        let golden = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: Self.lora.appendingPathComponent("golden.json")))
        var args = EngineArgs(model: Self.goldens.appendingPathComponent("llama"))
        args.blockSize = 4
        args.enableLoRA = true
        args.maxLoras = 2
        let engine = AsyncEngine(engine: try args.build(backend: CPUBackend()), detokenizer: IdDetokenizer())
        defer { engine.shutdown() }
        var config = ServerConfig()
        config.disableLogRequests = true
        config.maxLoras = 2
        config.allowRuntimeLoRAUpdating = true
        config.loraModules = [
            LoRAModulePath(name: "llama-a", path: Self.lora.appendingPathComponent("llama-a").path),
            LoRAModulePath(name: "llama-b", path: Self.lora.appendingPathComponent("llama-b").path, baseModelName: "llama"),
        ]
        let model = ServedModel(engine: engine, tokenizer: FakeTokenizer(), chatRenderer: nil, names: ["llama"], root: "tiny-llama")
        let serving = OpenAIServing(model: model, config: config)
        try await serving.loadStaticLoRAs()

        let load = await serving.loadLoRAAdapter(body: Data(
            #"{"lora_name": "llama-c", "lora_path": "\#(Self.lora.appendingPathComponent("llama-c").path)"}"#.utf8))
        #expect(load.status == 200)

        // Every case of the tiny Llama (base and three adapters, through two slots), all at once.
        let cases = golden.cases.filter { $0.model == "llama" }
        try await withThrowingTaskGroup(of: (Golden.Case, String?).self) { group in
            for c in cases {
                let name = c.adapter ?? "llama"
                let body = #"{"model": "\#(name)", "prompt": \#(golden.prompts[c.prompt_index]), "max_tokens": 16, "temperature": 0, "ignore_eos": true}"#
                group.addTask {
                    guard case .json(200, let data) = await serving.completions(body: Data(body.utf8)) else { return (c, nil) }
                    let json = try JSONSerialization.jsonObject(with: data) as? [String: Any]
                    #expect(json?["model"] as? String == name)
                    return (c, ((json?["choices"] as? [[String: Any]])?.first?["text"] as? String))
                }
            }
            for try await (c, text) in group {
                let tokens = text?.split(separator: " ").compactMap { Int($0) }
                #expect(tokens == c.greedy_token_ids, "\(c.adapter ?? "no adapter"), prompt \(c.prompt_index)")
            }
        }

        // The engine's refusals: a folder without an adapter is vLLM's 404, an adapter it cannot use a 500.
        let nowhere = "/nonexistent/adapter"
        let missing = await serving.loadLoRAAdapter(body: Data(#"{"lora_name": "x", "lora_path": "\#(nowhere)"}"#.utf8))
        guard case .json(404, let missingBody) = missing else { Issue.record("\(missing)"); return }
        #expect(String(decoding: missingBody, as: UTF8.self).contains("Loading lora x failed: No adapter found for /nonexistent/adapter"))
        let tooBig = Self.lora.appendingPathComponent("broken/rank-too-big").path
        let refused = await serving.loadLoRAAdapter(body: Data(#"{"lora_name": "big", "lora_path": "\#(tooBig)"}"#.utf8))
        guard case .json(500, let refusedBody) = refused else { Issue.record("\(refused)"); return }
        let message = try #require((try JSONSerialization.jsonObject(with: refusedBody) as? [String: [String: Any]])?["error"]?["message"] as? String)
        #expect(message.hasPrefix("Call to add_lora method failed: ") && message.contains("is greater than max_lora_rank 16."), "\(message)")

        guard case .json(200, let list) = serving.listModels() else { Issue.record("no model list"); return }
        let cards = try #require((try JSONSerialization.jsonObject(with: list) as? [String: Any])?["data"] as? [[String: Any]])
        #expect(cards.map { $0["id"] as? String } == ["llama", "llama-a", "llama-b", "llama-c"])
        #expect(cards.dropFirst().allSatisfy { $0["parent"] as? String == "llama" })
    }
}
