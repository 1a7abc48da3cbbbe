import Foundation
import Testing
import VLLMCPU
import VLLMModels

/// Every broken model folder fails with an error that names the file, tensor or value at fault.
@Suite struct BadModelFolderTests {
    /// A scratch copy of the golden `llama` folder, changed by `mutate`; returns the load error's text.
    func loadError(_ mutate: (URL) throws -> Void) throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bad-model-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: Paths.goldens.appendingPathComponent("llama"), to: folder)
        defer { try? FileManager.default.removeItem(at: folder) }
        try mutate(folder)
        do {
            _ = try ModelRegistry.load(directory: folder, backend: CPUBackend())
        } catch {
            return "\(error)"
        }
        Issue.record("loading succeeded")
        return ""
    }

    func editConfig(_ folder: URL, _ edit: (inout [String: Any]) -> Void) throws {
        let url = folder.appendingPathComponent("config.json")
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        edit(&json)
        try JSONSerialization.data(withJSONObject: json).write(to: url)
    }

    /// Rewrites model.safetensors with one tensor's header entry changed.
    func editSafetensors(_ folder: URL, _ edit: (inout [String: Any]) -> Void) throws {
        let url = folder.appendingPathComponent("model.safetensors")
        let data = try Data(contentsOf: url)
        let headerLength = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        var header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + headerLength))) as! [String: Any]
        edit(&header)
        var newHeader = try JSONSerialization.data(withJSONObject: header)
        while newHeader.count % 8 != 0 { newHeader.append(0x20) }
        var out = Data()
        withUnsafeBytes(of: UInt64(newHeader.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(newHeader)
        out.append(data.subdata(in: (8 + headerLength)..<data.count))
        try out.write(to: url)
    }

    @Test func missingConfig() throws {
        let message = try loadError { try FileManager.default.removeItem(at: $0.appendingPathComponent("config.json")) }
        #expect(message.contains("config.json") && message.contains("missing"))
    }

    @Test func garbledConfig() throws {
        let message = try loadError { try Data("{\"hidden_size\": ".utf8).write(to: $0.appendingPathComponent("config.json")) }
        #expect(message.contains("config.json") && message.contains("not a valid"))
    }

    @Test func wrongTypeInConfig() throws {
        let message = try loadError { try editConfig($0) { $0["hidden_size"] = "big" } }
        #expect(message.contains("hidden_size"))
    }

    @Test func unsupportedArchitecture() throws {
        let message = try loadError { try editConfig($0) { $0["architectures"] = ["GPT2LMHeadModel"]; $0["model_type"] = "gpt2" } }
        #expect(message.contains("gpt2") && message.contains("supported"))
    }

    @Test func unsupportedRopeType() throws {
        let message = try loadError { try editConfig($0) { $0["rope_parameters"] = ["rope_type": "longrope", "rope_theta": 10000.0] } }
        #expect(message.contains("longrope") && message.contains("supported"))
    }

    @Test func headsNotDivisible() throws {
        let message = try loadError { try editConfig($0) { $0["num_key_value_heads"] = 3 } }
        #expect(message.contains("num_key_value_heads") && message.contains("3"))
    }

    @Test func missingWeights() throws {
        let message = try loadError { try FileManager.default.removeItem(at: $0.appendingPathComponent("model.safetensors")) }
        #expect(message.contains("model.safetensors"))
    }

    @Test func truncatedSafetensors() throws {
        let message = try loadError { try Data([1, 2, 3]).write(to: $0.appendingPathComponent("model.safetensors")) }
        #expect(message.contains("model.safetensors") && message.contains("too short"))
    }

    @Test func garbledSafetensorsHeader() throws {
        let message = try loadError { folder in
            var data = Data()
            withUnsafeBytes(of: UInt64(6).littleEndian) { data.append(contentsOf: $0) }
            data.append(Data("{nope}".utf8))
            try data.write(to: folder.appendingPathComponent("model.safetensors"))
        }
        #expect(message.contains("model.safetensors") && message.contains("header"))
    }

    @Test func missingTensor() throws {
        let message = try loadError { try editSafetensors($0) { $0["model.layers.1.mlp.up_proj.weight"] = nil } }
        #expect(message.contains("model.layers.1.mlp.up_proj.weight") && message.contains("missing"))
    }

    @Test func tensorOfWrongShape() throws {
        let message = try loadError { folder in
            // Same byte count, other shape: [32, 32] read as [16, 64].
            try editSafetensors(folder) { header in
                var entry = header["model.layers.0.self_attn.q_proj.weight"] as! [String: Any]
                entry["shape"] = [16, 64]
                header["model.layers.0.self_attn.q_proj.weight"] = entry
            }
        }
        #expect(message.contains("q_proj.weight") && message.contains("[16, 64]") && message.contains("[32, 32]"))
    }

    @Test func tensorOfUnsupportedDType() throws {
        let message = try loadError { folder in
            try editSafetensors(folder) { header in
                var entry = header["model.norm.weight"] as! [String: Any]
                entry["dtype"] = "F8_E4M3"
                header["model.norm.weight"] = entry
            }
        }
        #expect(message.contains("model.norm.weight") && message.contains("F8_E4M3"))
    }

    @Test func shardIndexNamingAMissingTensor() throws {
        let message = try loadError { folder in
            let index = ["metadata": [:], "weight_map": ["model.extra.weight": "model.safetensors"]] as [String: Any]
            try JSONSerialization.data(withJSONObject: index).write(to: folder.appendingPathComponent("model.safetensors.index.json"))
        }
        #expect(message.contains("model.extra.weight"))
    }
}
