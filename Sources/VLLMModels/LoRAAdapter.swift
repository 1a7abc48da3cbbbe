import FoundationEssentials
import VLLMCompute

/// The linear layers of a decoder layer an adapter may change, by the name PEFT gives their module.
public enum LoRAModule: String, CaseIterable, Sendable {
    case qProj = "q_proj", kProj = "k_proj", vProj = "v_proj", oProj = "o_proj"
    case gateProj = "gate_proj", upProj = "up_proj", downProj = "down_proj"

    /// The module's path under a decoder layer, as PEFT names its tensors.
    var path: String {
        switch self {
        case .qProj, .kProj, .vProj, .oProj: "self_attn." + rawValue
        case .gateProj, .upProj, .downProj: "mlp." + rawValue
        }
    }

    /// Inputs and outputs of the whole (unsharded) linear in `config`.
    func shape(_ config: ModelConfig) -> (inputs: Int, outputs: Int) {
        let h = config.hiddenSize, q = config.numAttentionHeads * config.headDim, kv = config.numKeyValueHeads * config.headDim
        switch self {
        case .qProj: return (h, q)
        case .kProj, .vProj: return (h, kv)
        case .oProj: return (q, h)
        case .gateProj, .upProj: return (h, config.intermediateSize)
        case .downProj: return (config.intermediateSize, h)
        }
    }
}

/// One PEFT LoRA adapter (`adapter_config.json` + `adapter_model.safetensors`, as PEFT's `save_pretrained`
/// writes them), read on the host and checked against the base model: its rank, scaling, and each changed
/// linear's A [r, in] and B [out, r] in f32, B already multiplied by the scaling (vLLM folds it in too).
public struct LoRAAdapter: Sendable {
    public let directory: URL
    public let rank: Int
    /// `lora_alpha / r`, or `lora_alpha / √r` with `use_rslora`.
    public let scaling: Float
    /// `layers[i][module]`: decoder layer i's adapted linears.
    public let layers: [[LoRAModule: (a: [Float], b: [Float])]]

    /// Reads the adapter `name` in `directory` for a base model of `config`; `maxRank` is `--max-lora-rank`.
    /// Every defect is a `ModelError` naming the folder and what was wrong (the tensor, where one is), in vLLM's
    /// words where vLLM refuses the same.
    public static func load(name: String, directory: URL, config: ModelConfig, maxRank: Int) throws -> LoRAAdapter {
        let folder = directory.path
        let configURL = directory.appending(path: "adapter_config.json")
        guard let data = try? Data(contentsOf: configURL) else {
            throw ModelError("Loading lora \(name) failed: No adapter found for \(folder)")
        }
        let json = try AdapterConfig.decode(data, path: configURL.path)
        let rank = json.r
        guard rank > 0 else { throw ModelError("\(configURL.path): LoRA rank `r` must be a positive integer, got \(rank).") }
        // What vLLM's PEFTHelper.validate_legal refuses, in its words and order.
        var refused: [String] = []
        if !(json.modulesToSave ?? []).isEmpty { refused.append("vLLM only supports modules_to_save being None.") }
        if json.useDora == true { refused.append("vLLM does not yet support DoRA.") }
        if rank > maxRank { refused.append("LoRA rank \(rank) is greater than max_lora_rank \(maxRank).") }
        if let bias = json.bias, bias != "none" { refused.append("Adapter bias is not supported.") }
        guard refused.isEmpty else { throw ModelError("\(folder): " + refused.joined(separator: " ")) }
        let scaling = Float(json.useRslora == true ? json.loraAlpha / Double(rank).squareRoot() : json.loraAlpha / Double(rank))

        let weightsPath = directory.appending(path: "adapter_model.safetensors").path
        guard FileManager.default.fileExists(atPath: weightsPath) else {
            let pickled = ["adapter_model.bin", "adapter_model.pt"].first {
                FileManager.default.fileExists(atPath: directory.appending(path: $0).path)
            }
            // vLLM reads pickles with torch.load; a native binary reads safetensors only.
            throw ModelError(pickled.map { "\(folder): \($0) is a pickle, which is not read; save the adapter as adapter_model.safetensors" }
                             ?? "\(folder) doesn't contain tensors")
        }
        let file = try SafeTensorsFile(path: weightsPath)
        // vLLM checks every tensor's module against the model's before loading any.
        var unexpected: [String] = []
        var parsed: [(name: String, layer: Int, module: LoRAModule, isA: Bool)] = []
        for tensor in file.entries.keys.sorted() {
            guard let module = moduleName(tensor) else { throw ModelError("\(tensor) is unsupported LoRA weight") }
            if let (layer, lora) = parse(module: module), layer < config.numHiddenLayers {
                parsed.append((tensor, layer, lora, tensor.hasSuffix(".lora_A.weight")))
            } else if !unexpected.contains(module) {
                unexpected.append(module)
            }
        }
        guard unexpected.isEmpty else {
            let expected = LoRAModule.allCases.map { "'\($0.rawValue)'" }.sorted().joined(separator: ", ")
            throw ModelError("While loading \(folder), expected target modules in {\(expected)} but received "
                             + "[\(unexpected.map { "'\($0)'" }.joined(separator: ", "))]. Please verify that the loaded LoRA module is correct")
        }
        var layers = [[LoRAModule: (a: [Float], b: [Float])]](repeating: [:], count: config.numHiddenLayers)
        var halves: [String: (a: [Float]?, b: [Float]?)] = [:]
        for (tensor, layer, module, isA) in parsed {
            let entry = file.entries[tensor]!
            let (inputs, outputs) = module.shape(config)
            let expected = isA ? [rank, inputs] : [outputs, rank]
            guard entry.shape == expected else {
                throw ModelError("\(folder): tensor '\(tensor)' has shape \(entry.shape), expected \(expected) "
                                 + "(r = \(rank); the base model's \(module.rawValue) maps \(inputs) → \(outputs))")
            }
            guard entry.dtype.isFloatingPoint else { throw ModelError("\(folder): tensor '\(tensor)' is \(entry.dtype), not floating point") }
            let bytes = file.bytes(of: entry)
            var values = (0..<(bytes.count / entry.dtype.size)).map { entry.dtype.loadFloat(from: bytes.baseAddress!, at: $0) }
            if !isA { for i in values.indices { values[i] *= scaling } }
            let key = "layers.\(layer).\(module.path)"
            if isA { halves[key, default: (nil, nil)].a = values } else { halves[key, default: (nil, nil)].b = values }
            if let a = halves[key]?.a, let b = halves[key]?.b { layers[layer][module] = (a, b) }
        }
        if let key = halves.keys.sorted().first(where: { halves[$0]!.a == nil || halves[$0]!.b == nil }), let half = halves[key] {
            throw ModelError("\(folder): \(key) has lora_\(half.a == nil ? "B" : "A") but no lora_\(half.a == nil ? "A" : "B")")
        }
        guard !parsed.isEmpty else { throw ModelError("\(folder) doesn't contain tensors") }
        return LoRAAdapter(directory: directory, rank: rank, scaling: scaling, layers: layers)
    }

    /// The fields of adapter_config.json read here (PEFT's `LoraConfig`; vLLM's PEFTHelper requires the first three).
    struct AdapterConfig {
        var r: Int
        var loraAlpha: Double
        var useRslora: Bool?
        var useDora: Bool?
        var bias: String?
        var modulesToSave: [String]?

        static func decode(_ data: Data, path: String) throws -> AdapterConfig {
            struct Raw: Decodable {
                var r: Int?
                var lora_alpha: Double?
                var target_modules: TargetModules?
                var use_rslora: Bool?, use_dora: Bool?, bias: String?, modules_to_save: [String]?
            }
            /// A list of module names, or one regular expression.
            enum TargetModules: Decodable {
                case names([String]), pattern(String)
                init(from decoder: Decoder) throws {
                    let container = try decoder.singleValueContainer()
                    if let pattern = try? container.decode(String.self) { self = .pattern(pattern) } else { self = .names(try container.decode([String].self)) }
                }
            }
            let raw: Raw
            do {
                raw = try JSONDecoder().decode(Raw.self, from: data)
            } catch {
                throw ModelError("\(path): not a PEFT LoRA config (\(error))")
            }
            let missing = [("r", raw.r == nil), ("lora_alpha", raw.lora_alpha == nil), ("target_modules", raw.target_modules == nil)]
                .filter(\.1).map { "'\($0.0)'" }
            guard let r = raw.r, let alpha = raw.lora_alpha, missing.isEmpty else {
                throw ModelError("\(path): Missing required configuration fields: {\(missing.joined(separator: ", "))}")
            }
            return AdapterConfig(r: r, loraAlpha: alpha, useRslora: raw.use_rslora, useDora: raw.use_dora, bias: raw.bias,
                                 modulesToSave: raw.modules_to_save)
        }
    }

    /// The module of a LoRA tensor as vLLM's `parse_fine_tuned_lora_name` reads it: `base_model.model.` dropped,
    /// `.lora_A.weight` / `.lora_B.weight` cut off (`model.layers.0.self_attn.q_proj`); nil for any other tensor.
    static func moduleName(_ tensor: String) -> String? {
        let name = tensor.hasPrefix("base_model.model.") ? String(tensor.dropFirst("base_model.model.".count)) : tensor
        for suffix in [".lora_A.weight", ".lora_B.weight"] where name.hasSuffix(suffix) { return String(name.dropLast(suffix.count)) }
        return nil
    }

    /// `model.layers.{i}.{self_attn|mlp}.{module}` → (i, module); nil for a module no decoder layer adapts here.
    static func parse(module: String) -> (layer: Int, module: LoRAModule)? {
        let parts = module.split(separator: ".")
        guard parts.count == 5, parts[0] == "model", parts[1] == "layers", let layer = Int(parts[2]),
              let lora = LoRAModule(rawValue: String(parts[4])), lora.path == "\(parts[3]).\(parts[4])" else { return nil }
        return (layer, lora)
    }
}
