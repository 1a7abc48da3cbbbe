import Foundation
import Testing
import VLLMCompute
import VLLMCPU
import VLLMEngine
@testable import VLLMModels

/// Quantized checkpoints written by the reference tools, dequantized by the CPU backend: logits within 1e-4 of
/// transformers running on the tools' own dequantization, greedy tokens identical
/// (scripts/make_quant_goldens.py; each golden.json names the tool path in "tool").
@Suite struct QuantizedParityTests {
    static let formats = ["gptq-4bit-g32-sym", "gptq-4bit-g64-actorder-asym", "gptq-8bit-channel-sym", "awq-4bit-g64",
                          "ct-w4a16-group-sym", "ct-w4a16-group-asym", "ct-w8a16-channel", "ct-w8a8-int8",
                          "ct-fp8-dynamic", "ct-fp8-block", "fp8-tensor-static", "fp8-block", "online-fp8"]

    static func folder(_ name: String) -> URL { Paths.goldens.appendingPathComponent("quantized/\(name)") }
    /// online-fp8 is a float checkpoint run as `--quantization fp8`.
    static func flag(_ name: String) -> String? { name == "online-fp8" ? "fp8" : nil }

    @Test(arguments: formats)
    func logitsAndGreedyTokensMatchTheReferenceTool(name: String) throws {
        let golden = try Golden.load("quantized/\(name)")
        let tool = try #require(golden.tool)
        for prompt in golden.prompts {
            let harness = try Harness(folder: Self.folder(name), quantization: Self.flag(name))
            let result = try harness.generate([prompt.prompt_token_ids], numNewTokens: prompt.greedy_token_ids.count)
            let error = relativeError(result.logits[0], prompt.last_logits)
            #expect(error <= 1e-4, "\(name) (\(tool)), prompt of \(prompt.prompt_token_ids.count): relative error \(error)")
            #expect(result.tokens[0] == prompt.greedy_token_ids, "\(name) (\(tool)), prompt of \(prompt.prompt_token_ids.count)")
        }
    }

    @Test(arguments: formats)
    func everyPromptPositionMatches(name: String) throws {
        let golden = try Golden.load("quantized/\(name)")
        let prompt = golden.prompts[golden.all_positions_prompt]
        let allLogits = try #require(prompt.all_logits)
        let harness = try Harness(folder: Self.folder(name), blockSize: 16, quantization: Self.flag(name))
        let step = StepSequence(tokenIds: prompt.prompt_token_ids, numComputedTokens: 0,
                                blockIds: harness.blocks(for: 0, length: prompt.prompt_token_ids.count), sampling: Harness.greedy)
        let logits = try harness.runner.logits([step])[0]
        let error = relativeError(logits, allLogits.last!)
        #expect(error <= 1e-4, "\(name): relative error \(error)")
    }

    @Test func quantizationConfigsAreReadAsVLLMReadsThem() throws {
        func config(_ name: String) throws -> QuantizationConfig? { try ModelConfig.load(modelDirectory: Self.folder(name)).quantization }
        #expect(try config("gptq-4bit-g64-actorder-asym")
                == QuantizationConfig(method: "gptq", weights: .gptq(bits: 4, groupSize: 64, descAct: true, symmetric: false, zeroOffset: 1),
                                      activations: nil))
        #expect(try config("gptq-8bit-channel-sym")?.weights == .gptq(bits: 8, groupSize: nil, descAct: false, symmetric: true, zeroOffset: 1))
        #expect(try config("awq-4bit-g64")?.weights == .awq(bits: 4, groupSize: 64))
        #expect(try config("ct-w4a16-group-asym")?.weights == .packed(bits: 4, groupSize: 64, symmetric: false))
        #expect(try config("ct-w8a8-int8") == QuantizationConfig(method: "compressed-tensors", weights: .int8(symmetric: true), activations: .dynamic))
        #expect(try config("ct-fp8-block")?.weights == .fp8(block: [64, 64]))
        #expect(try config("fp8-tensor-static") == QuantizationConfig(method: "fp8", weights: .fp8(block: nil), activations: .static))
        #expect(try config("online-fp8") == nil)
    }
}

/// `--quantization` against the checkpoint, and broken quantized folders: each refused with the field or
/// tensor at fault, before any weight is used.
@Suite struct BadQuantizedFolderTests {
    func error(_ body: () throws -> Void) -> String {
        do { try body() } catch { return "\(error)" }
        Issue.record("no error")
        return ""
    }

    @Test func flagMustMatchTheCheckpoint() throws {
        let gptq = try ModelConfig.load(modelDirectory: QuantizedParityTests.folder("gptq-4bit-g32-sym")).quantization
        #expect(try QuantizationConfig.resolve(checkpoint: gptq, flag: "gptq_marlin") == gptq)
        let mismatch = error { _ = try QuantizationConfig.resolve(checkpoint: gptq, flag: "awq") }
        #expect(mismatch.contains("awq") && mismatch.contains("quant_method 'gptq'"))
        let unknown = error { _ = try QuantizationConfig.resolve(checkpoint: nil, flag: "bitsandbytes") }
        #expect(unknown.contains("bitsandbytes") && unknown.contains("supported"))
        let notFloat = error { _ = try QuantizationConfig.resolve(checkpoint: nil, flag: "gptq") }
        #expect(notFloat.contains("no quantization_config"))
    }

    /// A copy of a quantized golden folder, changed by `mutate`; the load error's text.
    func loadError(_ name: String, _ mutate: (URL) throws -> Void) throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bad-quant-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: QuantizedParityTests.folder(name), to: folder)
        defer { try? FileManager.default.removeItem(at: folder) }
        try mutate(folder)
        return error { _ = try ModelRegistry.load(directory: folder, backend: CPUBackend()) }
    }

    func editConfig(_ folder: URL, _ edit: (inout [String: Any]) -> Void) throws {
        let url = folder.appendingPathComponent("config.json")
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        edit(&json)
        try JSONSerialization.data(withJSONObject: json).write(to: url)
    }

    func editQuantization(_ folder: URL, _ edit: (inout [String: Any]) -> Void) throws {
        try editConfig(folder) { json in
            var section = json["quantization_config"] as! [String: Any]
            edit(&section)
            json["quantization_config"] = section
        }
    }

    /// The load error of golden folder `name` with its quantization_config's `field` set to `json` (a JSON fragment).
    func fieldError(_ name: String, field: String, json: String) throws -> String {
        let value = try JSONSerialization.jsonObject(with: Data(json.utf8), options: .fragmentsAllowed)
        return try loadError(name) { try editQuantization($0) { $0[field] = value } }
    }

    @Test(arguments: [
        ("quant_method", "\"bitsandbytes\"", "quant_method 'bitsandbytes'"),
        ("bits", "3", "bits 3"),
        ("group_size", "0", "group_size 0"),
        ("checkpoint_format", "\"marlin\"", "checkpoint_format 'marlin'"),
        ("desc_act", "\"yes\"", "desc_act should be true or false"),
    ])
    func badGPTQField(field: String, json: String, expected: String) throws {
        let message = try fieldError("gptq-4bit-g32-sym", field: field, json: json)
        #expect(message.contains("quantization_config") && message.contains(expected), "\(message)")
    }

    /// `fp8` checkpoints (the block-scaled golden, 64 × 64): each bad field refused by name before a weight is read; a
    /// block size its scale tensors were not written with, by the tensor and its shape.
    @Test(arguments: [
        ("weight_block_size", "[128]", "weight_block_size [128] should be two positive sizes"),
        ("weight_block_size", "[0, 64]", "weight_block_size [0, 64] should be two positive sizes"),
        ("fmt", "\"e5m2\"", "fmt 'e5m2' is not supported"),
        ("activation_scheme", "\"tensor\"", "activation_scheme 'tensor' is not supported"),
    ])
    func badFP8Field(field: String, json: String, expected: String) throws {
        let message = try fieldError("fp8-block", field: field, json: json)
        #expect(message.contains("quantization_config") && message.contains(expected), "\(message)")
    }

    @Test func fp8BlockSizeThatDoesNotMatchTheScales() throws {
        let message = try loadError("fp8-block") { try editQuantization($0) { $0["weight_block_size"] = [32, 32] } }
        #expect(message.contains("weight_scale_inv") && message.contains("shape"), "\(message)")
    }

    @Test func groupSizeThatDoesNotDivideTheInput() throws {
        let message = try loadError("gptq-4bit-g32-sym") { try editQuantization($0) { $0["group_size"] = 48 } }
        #expect(message.contains("not a multiple of 48"), "\(message)")
    }

    @Test func awqOfAnotherVersion() throws {
        let message = try loadError("awq-4bit-g64") { try editQuantization($0) { $0["version"] = "gemv" } }
        #expect(message.contains("version 'gemv'"), "\(message)")
    }

    /// A golden compressed-tensors folder whose `config_groups.group_0` has `key` under `section` set to `json`
    /// (removed where nil), or the section itself where `key` is nil.
    struct SchemeEdit: Sendable, CustomTestStringConvertible {
        var folder: String, section: String, key: String?, json: String?, expected: String
        var testDescription: String { "\(folder): \(section).\(key ?? "") = \(json ?? "(removed)")" }
    }

    @Test(arguments: [
        SchemeEdit(folder: "ct-w4a16-group-sym", section: "weights", key: "num_bits", json: "2",
                   expected: "config_groups.group_0.weights.num_bits 2 is not supported; supported: 4, 8"),
        SchemeEdit(folder: "ct-w4a16-group-sym", section: "weights", key: "group_size", json: "0",
                   expected: "config_groups.group_0.weights.group_size should be a positive number for strategy 'group'"),
        SchemeEdit(folder: "ct-w4a16-group-sym", section: "weights", key: "strategy", json: "\"block\"",
                   expected: "config_groups.group_0.weights.strategy 'block' is not supported for 4-bit int weights"),
        SchemeEdit(folder: "ct-w4a16-group-sym", section: "targets", key: nil, json: "[\"Attention\"]",
                   expected: "config_groups.group_0.targets [\"Attention\"] is not supported"),
        SchemeEdit(folder: "ct-w4a16-group-sym", section: "weights", key: nil, json: nil,
                   expected: "config_groups.group_0.weights is missing"),
        SchemeEdit(folder: "ct-w4a16-group-sym", section: "input_activations", key: nil,
                   json: #"{"num_bits": 8, "type": "int", "strategy": "token", "dynamic": true}"#,
                   expected: "config_groups.group_0: pack-quantized weights with quantized activations are not supported"),
        SchemeEdit(folder: "ct-w8a8-int8", section: "weights", key: "strategy", json: "\"group\"",
                   expected: "config_groups.group_0.weights.strategy 'group' is not supported for int8 weights"),
        SchemeEdit(folder: "ct-fp8-dynamic", section: "weights", key: "num_bits", json: "4",
                   expected: "config_groups.group_0.weights.num_bits 4 is not supported for float weights"),
        SchemeEdit(folder: "ct-fp8-dynamic", section: "weights", key: "strategy", json: "\"group\"",
                   expected: "config_groups.group_0.weights.strategy 'group' is not supported for FP8 weights"),
        SchemeEdit(folder: "ct-fp8-dynamic", section: "input_activations", key: "dynamic", json: "false",
                   expected: "config_groups.group_0.input_activations: strategy 'token' with dynamic false is not supported"),
        SchemeEdit(folder: "ct-fp8-block", section: "weights", key: "block_structure", json: "[64]",
                   expected: "config_groups.group_0.weights.block_structure should be two positive sizes"),
    ])
    func compressedTensorsOfAnUnsupportedScheme(_ edit: SchemeEdit) throws {
        let value = try edit.json.map { try JSONSerialization.jsonObject(with: Data($0.utf8), options: .fragmentsAllowed) }
        let message = try loadError(edit.folder) { folder in
            try editQuantization(folder) { quantization in
                var groups = quantization["config_groups"] as! [String: Any]
                var group = groups["group_0"] as! [String: Any]
                if let key = edit.key {
                    var section = group[edit.section] as! [String: Any]
                    section[key] = value
                    group[edit.section] = section
                } else {
                    group[edit.section] = value
                }
                groups["group_0"] = group
                quantization["config_groups"] = groups
            }
        }
        #expect(message.contains(edit.expected), "\(message)")
    }

    @Test func compressedTensorsOfTwoSchemes() throws {
        let message = try loadError("ct-w4a16-group-sym") { folder in
            try editQuantization(folder) { quantization in
                var groups = quantization["config_groups"] as! [String: Any]
                groups["group_1"] = groups["group_0"]
                quantization["config_groups"] = groups
            }
        }
        #expect(message.contains("config_groups has 2 groups; supported: exactly one scheme"), "\(message)")
    }

    /// AWQ's fields, under the names transformers writes (bits, group_size) and AutoAWQ's (w_bit): each named as found.
    @Test(arguments: [
        ("bits", "3", "quantization_config.bits 3 is not supported (AWQ: 4)"),
        ("w_bit", "3", "quantization_config.w_bit 3 is not supported (AWQ: 4)"),
        ("zero_point", "false", "quantization_config.zero_point false is not supported"),
        ("group_size", "-1", "quantization_config.group_size -1 is not supported (AWQ: a positive group size)"),
        ("group_size", "0", "quantization_config.group_size 0 should be a positive group size"),
    ])
    func badAWQField(field: String, json: String, expected: String) throws {
        let message = try fieldError("awq-4bit-g64", field: field, json: json)
        #expect(message.contains(expected), "\(message)")
    }

    @Test func quantizationConfigThatIsNotAnObject() throws {
        let message = try loadError("gptq-4bit-g32-sym") { try editConfig($0) { $0["quantization_config"] = "gptq" } }
        #expect(message.contains("quantization_config should be an object"), "\(message)")
    }

    @Test func sparseCompressedTensorsAreRefused() throws {
        let message = try loadError("ct-w4a16-group-sym") { folder in
            try editQuantization(folder) { $0["sparsity_config"] = ["format": "sparse-24-bitmask", "sparsity_structure": "2:4"] }
        }
        #expect(message.contains("sparsity_config.format 'sparse-24-bitmask'"), "\(message)")
    }

    /// A checkpoint whose tensors are not what its quantization_config says.
    @Test func tensorsThatDoNotMatchTheConfig() throws {
        let message = try loadError("gptq-4bit-g32-sym") { try editQuantization($0) { $0["quant_method"] = "awq"; $0["version"] = "gemm" } }
        #expect(message.contains("qweight") && message.contains("shape"), "\(message)")
        let packed = try loadError("ct-w4a16-group-sym") { folder in
            try editQuantization(folder) { $0["format"] = "float-quantized" }
        }
        #expect(packed.contains("float-quantized"), "\(packed)")
    }

    @Test func actOrderIndexOutOfRange() throws {
        let message = try loadError("gptq-4bit-g64-actorder-asym") { folder in
            let url = folder.appendingPathComponent("model.safetensors")
            var data = try Data(contentsOf: url)
            let headerLength = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
            let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + headerLength))) as! [String: Any]
            let entry = header["model.layers.0.self_attn.q_proj.g_idx"] as! [String: Any]
            let begin = (entry["data_offsets"] as! [Int])[0] + 8 + headerLength
            data.replaceSubrange(begin..<(begin + 4), with: withUnsafeBytes(of: Int32(99).littleEndian) { Data($0) })
            try data.write(to: url)
        }
        #expect(message.contains("q_proj.g_idx") && message.contains("99"), "\(message)")
    }
}

/// The fp8 KV cache on the CPU backend: the codec bit for bit against torch's float8 types, and whole models
/// against transformers with every cached key and value rounded through e4m3 (scripts/make_quant_goldens.py).
@Suite struct Float8KVCacheTests {
    struct Codec: Decodable {
        var inputs: [Float]
        var e4m3fn: [Float?], e5m2: [Float?]
        var e5m2_infinities: [String: Int]
        var e4m3fn_codes: [UInt8], e5m2_codes: [UInt8]
    }

    @Test func codecMatchesTorch() throws {
        let url = QuantizedParityTests.folder("fp8.json")
        let codec = try JSONDecoder().decode(Codec.self, from: Data(contentsOf: url))
        for (format, values, codes) in [(Float8Format.e4m3fn, codec.e4m3fn, codec.e4m3fn_codes),
                                        (.e5m2, codec.e5m2, codec.e5m2_codes)] {
            for (bits, value) in values.enumerated() {
                let decoded = format.decode(UInt8(bits))
                if let value {
                    #expect(decoded == value, "\(format) code \(bits)")
                } else if format == .e5m2, let sign = codec.e5m2_infinities[String(bits)] {
                    #expect(decoded == Float(sign) * .infinity, "\(format) code \(bits)")
                } else {
                    #expect(decoded.isNaN, "\(format) code \(bits)")
                }
            }
            for (input, code) in zip(codec.inputs, codes) {
                #expect(format.encode(input) == code, "\(format) of \(input)")
            }
        }
    }

    @Test(arguments: ["llama", "qwen2"])
    func logitsAndGreedyTokensMatchTransformersOnAnFp8Cache(name: String) throws {
        let golden = try Golden.load("quantized/fp8-kv-\(name)")
        let plain = try Golden.load(name)
        let folder = Paths.goldens.appendingPathComponent(name)
        var differs = false
        for (prompt, plainPrompt) in zip(golden.prompts, plain.prompts) {
            let harness = try Harness(folder: folder, kvCacheDType: .float8E4M3)
            let result = try harness.generate([prompt.prompt_token_ids], numNewTokens: prompt.greedy_token_ids.count)
            let error = relativeError(result.logits[0], prompt.last_logits)
            #expect(error <= 1e-4, "\(name), prompt of \(prompt.prompt_token_ids.count): relative error \(error)")
            #expect(result.tokens[0] == prompt.greedy_token_ids, "\(name), prompt of \(prompt.prompt_token_ids.count)")
            differs = differs || relativeError(prompt.last_logits, plainPrompt.last_logits) > 1e-3
        }
        #expect(differs, "the fp8 cache should change some logits beyond 1e-3, or this test proves nothing")
    }

    /// The chunked prefill reads earlier chunks' keys back from the fp8 cache, as one whole prefill does.
    @Test func chunkedPrefillOnAnFp8CacheMatchesEveryPosition() throws {
        let golden = try Golden.load("quantized/fp8-kv-llama")
        let prompt = golden.prompts[golden.all_positions_prompt]
        let allLogits = try #require(prompt.all_logits)
        let harness = try Harness(folder: Paths.goldens.appendingPathComponent("llama"), blockSize: 16, kvCacheDType: .float8E4M3)
        var computed = 0
        while computed < prompt.prompt_token_ids.count {
            let n = min(5, prompt.prompt_token_ids.count - computed)
            let step = StepSequence(tokenIds: Array(prompt.prompt_token_ids[computed..<(computed + n)]), numComputedTokens: computed,
                                    blockIds: harness.blocks(for: 0, length: computed + n), sampling: Harness.greedy)
            let logits = try harness.runner.logits([step])[0]
            computed += n
            #expect(relativeError(logits, allLogits[computed - 1]) <= 1e-4, "position \(computed - 1)")
        }
    }

    @Test func anFp8CacheTakesAQuarterOfF32sBytes() throws {
        let model = try ModelRegistry.load(directory: Paths.goldens.appendingPathComponent("llama"), backend: CPUBackend(),
                                           kvCacheDType: .float8E4M3)
        let f32 = try ModelRegistry.load(directory: Paths.goldens.appendingPathComponent("llama"), backend: CPUBackend())
        #expect(f32.kvCacheBytesPerBlock(blockSize: 16) == 4 * model.kvCacheBytesPerBlock(blockSize: 16))
    }
}

/// GPTQ's `modules_in_block_to_quantize`, as vLLM 0.26 reads it (`AutoGPTQConfig`: a list of names or of lists of
/// names, flattened; `gptq_utils.is_layer_gptq_quantized`: a layer is quantized when a name is a substring of its path,
/// and a fused layer's shards must agree). It decides which dummy weights are 4-bit.
@Suite struct GPTQModuleListTests {
    func parse(_ list: String) throws -> QuantizationConfig? {
        let json = #"{"quantization_config": {"quant_method": "gptq", "bits": 4, "group_size": 128, "modules_in_block_to_quantize": "#
            + list + "}}"
        return try QuantizationConfig.parse(configData: Data(json.utf8), path: "config.json")
    }

    @Test func listsAreFlattenedAndMatchedAsVLLMMatchesThem() throws {
        let flat = try parse(#"["self_attn.q_proj", "mlp.down_proj"]"#)
        #expect(flat?.quantizedModules == ["self_attn.q_proj", "mlp.down_proj"])
        #expect(flat?.quantizes(layer: "model.layers.3.self_attn.q_proj") == true)
        #expect(flat?.quantizes(layer: "model.layers.3.self_attn.k_proj") == false)
        let nested = try parse(#"[["self_attn.k_proj", "self_attn.v_proj"], ["mlp.up_proj"]]"#)
        #expect(nested?.quantizedModules == ["self_attn.k_proj", "self_attn.v_proj", "mlp.up_proj"])
        #expect(try parse("[]")?.quantizes(layer: "model.layers.0.mlp.down_proj") == true)  // no list: every layer
        do {
            _ = try parse(#""mlp""#)
            Issue.record("a string for the list was accepted")
        } catch {
            #expect("\(error)".contains("modules_in_block_to_quantize") && "\(error)".contains("a list of module names"))
        }
    }

    /// vLLM refuses a fused layer (q/k/v, gate/up) whose shards the list splits; so does the dummy loader, naming them.
    @Test func aFusedLayerSplitByTheListIsRefused() throws {
        let config = try #require(try parse(#"["self_attn.q_proj", "mlp"]"#))
        let loader = try WeightLoader(backend: CPUBackend(), directory: nil, format: .dummy(seed: 0), dtype: .float32,
                                      quantization: config)
        let qkv = ["q_proj", "k_proj", "v_proj"].map { (prefix: "model.layers.0.self_attn.\($0)", n: 8, rows: Range<Int>?.none) }
        do {
            _ = try loader.loadLinear(qkv, k: 128)
            Issue.record("q/k/v split by the module list were loaded")
        } catch {
            #expect("\(error)".contains("some but not all") && "\(error)".contains("model.layers.0.self_attn.k_proj"))
        }
        let gateUp = ["gate_proj", "up_proj"].map { (prefix: "model.layers.0.mlp.\($0)", n: 8, rows: Range<Int>?.none) }
        _ = try loader.loadLinear(gateUp, k: 128)  // both named (by "mlp"): loaded
    }
}
