import Foundation
import Testing
import VLLMModels

/// PEFT adapter folders (scripts/make_lora_goldens.py) read and checked against the base model: what vLLM refuses
/// is refused in vLLM's words, and every other defect names the folder and the tensor.
@Suite struct LoRAAdapterTests {
    static let lora = Paths.goldens.appendingPathComponent("lora")
    static let llama = try! ModelConfig.load(modelDirectory: Paths.goldens.appendingPathComponent("llama"))

    func load(_ folder: String, maxRank: Int = 16) throws -> LoRAAdapter {
        try LoRAAdapter.load(name: folder, directory: Self.lora.appendingPathComponent(folder), config: Self.llama, maxRank: maxRank)
    }

    func refusal(_ folder: String, maxRank: Int = 16) -> String {
        do {
            _ = try load(folder, maxRank: maxRank)
            return "(loaded)"
        } catch {
            return "\(error)"
        }
    }

    @Test func readsRankScalingAndModules() throws {
        let a = try load("llama-a")
        #expect(a.rank == 8 && a.scaling == 2)
        #expect(a.layers.count == 2 && a.layers.allSatisfy { $0.count == 7 })
        let b = try load("llama-b")  // use_rslora: alpha / sqrt(r)
        #expect(b.rank == 4 && b.scaling == 4)
        #expect(Set(b.layers[0].keys) == [.qProj, .vProj])
        let c = try load("llama-c")
        #expect(Set(c.layers[1].keys) == [.oProj, .gateProj, .upProj, .downProj])
    }

    @Test func refusesWhatVLLMRefuses() {
        #expect(refusal("broken/dora").hasSuffix("vLLM does not yet support DoRA."))
        #expect(refusal("broken/modules-to-save").hasSuffix("vLLM only supports modules_to_save being None."))
        #expect(refusal("broken/rank-too-big").hasSuffix("LoRA rank 64 is greater than max_lora_rank 16."))
        #expect(refusal("broken/rank-too-big", maxRank: 64) == "(loaded)")
        #expect(refusal("broken/no-weights").hasSuffix("broken/no-weights doesn't contain tensors"))
        #expect(refusal("missing") == "Loading lora missing failed: No adapter found for \(Self.lora.appendingPathComponent("missing").path)")
        let unknown = refusal("broken/unknown-module")
        #expect(unknown.contains("expected target modules in {'down_proj', 'gate_proj', 'k_proj', 'o_proj', 'q_proj', 'up_proj', 'v_proj'} "
                                 + "but received ['model.layers.0.mlp.fc9']. Please verify that the loaded LoRA module is correct"),
                "\(unknown)")
    }

    @Test func aWrongShapeNamesTheTensor() {
        let message = refusal("broken/bad-shape")
        #expect(message.contains("tensor 'base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight' has shape [20, 8], expected [16, 8]"),
                "\(message)")
    }

    @Test func anAdapterOfAnotherBaseModel() throws {
        // A base with another hidden size refuses the adapter.
        var config = Self.llama
        config.hiddenSize = 64
        #expect(throws: ModelError.self) {
            try LoRAAdapter.load(name: "a", directory: Self.lora.appendingPathComponent("llama-a"), config: config, maxRank: 16)
        }
    }

    /// A weights file cut short, or not safetensors at all: refused naming the file, never read out of bounds.
    @Test func aDamagedWeightsFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lora-damaged-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: Self.lora.appendingPathComponent("llama-a"), to: folder)
        defer { try? FileManager.default.removeItem(at: folder) }
        let weights = folder.appendingPathComponent("adapter_model.safetensors")
        let bytes = try Data(contentsOf: weights)
        for damaged in [bytes.prefix(bytes.count / 2), bytes.prefix(5), Data("not safetensors at all".utf8)] {
            try damaged.write(to: weights)
            let error = #expect(throws: ModelError.self) {
                try LoRAAdapter.load(name: "x", directory: folder, config: Self.llama, maxRank: 16)
            }
            #expect(error?.message.contains("adapter_model.safetensors") == true, "\(String(describing: error))")
        }
    }

    @Test func aMalformedConfig() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lora-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data(#"{"r": 8, "target_modules": ["q_proj"]}"#.utf8).write(to: folder.appendingPathComponent("adapter_config.json"))
        let error = #expect(throws: ModelError.self) { try LoRAAdapter.load(name: "x", directory: folder, config: Self.llama, maxRank: 16) }
        #expect(error?.message == "\(folder.path)/adapter_config.json: Missing required configuration fields: {'lora_alpha'}")
        try Data("[1, 2]".utf8).write(to: folder.appendingPathComponent("adapter_config.json"))
        #expect(throws: ModelError.self) { try LoRAAdapter.load(name: "x", directory: folder, config: Self.llama, maxRank: 16) }
    }
}
