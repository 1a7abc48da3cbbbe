import FoundationEssentials

/// How a checkpoint's linear layers are quantized: `quantization_config` of config.json (or AutoGPTQ's
/// `quantize_config.json`), read as vLLM detects it, or `--quantization fp8` on a float checkpoint.
/// Everything that cannot be loaded is refused here, naming the field and its value, before any
/// weight is read.
public struct QuantizationConfig: Sendable, Equatable {
    /// vLLM's name of the method (`gptq`, `awq`, `compressed-tensors`, `fp8`).
    public var method: String
    public var weights: WeightScheme
    /// How activations are quantized before the GEMM (W8A8 schemes); nil for weight-only schemes.
    public var activations: ActivationScheme?
    /// GPTQ's `modules_in_block_to_quantize` (flattened; nil when absent or empty): the layers quantized, each named by
    /// a part of its path. vLLM takes the quantized layers from it, else from the checkpoint's tensors; here a
    /// checkpoint's tensors decide, and the list decides only for dummy weights, which have no tensors (`quantizes`).
    public var quantizedModules: [String]?

    public init(method: String, weights: WeightScheme, activations: ActivationScheme?, quantizedModules: [String]? = nil) {
        self.method = method
        self.weights = weights
        self.activations = activations
        self.quantizedModules = quantizedModules
    }

    /// Whether the layer at `prefix` (e.g. `model.layers.0.self_attn.q_proj`) is quantized by the module list: as vLLM's
    /// `is_layer_gptq_quantized`, when one of the names is a substring of the path; every layer without a list.
    public func quantizes(layer prefix: String) -> Bool {
        quantizedModules.map { names in names.contains { prefix.contains($0) } } ?? true
    }

    public enum WeightScheme: Sendable, Equatable {
        /// GPTQ: `qweight` int32 [K·bits/32, N] packed along K, `qzeros` int32 [G, N·bits/32], `scales` [G, N],
        /// `g_idx` [K] (act-order). `zeroOffset` is 1 for AutoGPTQ's format (zeros stored minus one), 0 for
        /// GPTQModel's `gptq_v2`. `groupSize` nil: one group over all of K (`group_size: -1`).
        case gptq(bits: Int, groupSize: Int?, descAct: Bool, symmetric: Bool, zeroOffset: Int)
        /// AWQ (GEMM): `qweight` int32 [K, N/8] and `qzeros` [G, N/8] packed along N in AWQ's order, `scales` [G, N].
        case awq(bits: Int, groupSize: Int)
        /// compressed-tensors `pack-quantized`: `weight_packed` int32 [N, K·bits/32] (values offset to unsigned),
        /// `weight_scale` [N, G] (or [N, 1] per channel), `weight_zero_point` packed along N when asymmetric.
        case packed(bits: Int, groupSize: Int?, symmetric: Bool)
        /// compressed-tensors `int-quantized`: `weight` int8 [N, K], `weight_scale` per channel [N, 1] or tensor.
        case int8(symmetric: Bool)
        /// FP8 e4m3 `weight` [N, K]: `weight_scale` per tensor or channel, or block scales
        /// (`weight_scale_inv` [⌈N/bn⌉, ⌈K/bk⌉] in `fp8` checkpoints, `weight_scale` in compressed-tensors).
        case fp8(block: [Int]?)
        /// `--quantization fp8` on a float checkpoint: each linear's weight quantized at load to e4m3 with one
        /// scale per tensor (amax / 448), as vLLM's online FP8.
        case fp8Online
    }

    public enum ActivationScheme: Sendable, Equatable {
        /// Quantized per token at run time (`dynamic: true`).
        case dynamic
        /// One scale from the checkpoint (`input_scale`).
        case `static`
    }

    /// One line for the start-up log.
    public var summary: String {
        let weightText: String
        switch weights {
        case .gptq(let bits, let groupSize, let descAct, let symmetric, _):
            weightText = "\(bits)-bit ints, \(groupSize.map { "groups of \($0)" } ?? "one group per channel")\(descAct ? ", act-order" : "")\(symmetric ? "" : ", zero points")"
        case .awq(let bits, let groupSize): weightText = "\(bits)-bit ints, groups of \(groupSize), zero points"
        case .packed(let bits, let groupSize, let symmetric):
            weightText = "\(bits)-bit ints, \(groupSize.map { "groups of \($0)" } ?? "one scale per channel")\(symmetric ? "" : ", zero points")"
        case .int8: weightText = "int8, one scale per channel"
        case .fp8(let block): weightText = "fp8 e4m3\(block.map { ", \($0[0])×\($0[1]) blocks" } ?? "")"
        case .fp8Online: weightText = "fp8 e4m3 quantized at load, one scale per tensor"
        }
        let activationText = activations.map { $0 == .dynamic ? "; activations quantized per token" : "; activations at static scales" } ?? ""
        return "\(method): weights \(weightText)\(activationText)"
    }

    /// The names `--quantization` accepts, as vLLM spells them (the marlin variants are vLLM's kernels for
    /// the same checkpoints; swift-vllm has one kernel per format, so they mean the same here).
    public static let methodNames = ["gptq", "gptq_marlin", "awq", "awq_marlin", "compressed-tensors", "fp8"]

    /// The checkpoint's config (nil when it has none) checked against `--quantization` (nil when not given).
    public static func resolve(checkpoint: QuantizationConfig?, flag: String?) throws -> QuantizationConfig? {
        guard let flag else { return checkpoint }
        let requested = flag.lowercased()
        guard methodNames.contains(requested) else {
            throw ModelError("--quantization '\(flag)' is not supported; supported: \(methodNames.joined(separator: ", "))")
        }
        let base = requested.hasSuffix("_marlin") ? String(requested.dropLast(7)) : requested
        guard let checkpoint else {
            guard base == "fp8" else {
                throw ModelError("--quantization \(flag): the model has no quantization_config; only fp8 quantizes a float checkpoint at load")
            }
            return QuantizationConfig(method: "fp8", weights: .fp8Online, activations: .dynamic)
        }
        guard base == checkpoint.method else {
            throw ModelError("--quantization \(flag) does not match the checkpoint's quantization_config.quant_method '\(checkpoint.method)'")
        }
        return checkpoint
    }

    /// The `quantization_config` of config.json (`data`), else the AutoGPTQ `quantize_config.json` beside it
    /// (`sidecar`); nil when neither says the weights are quantized.
    public static func parse(configData data: Data, path: String, sidecar: (data: Data, path: String)? = nil) throws -> QuantizationConfig? {
        struct Outer: Decodable { var quantization_config: ConfigJSON? }
        if let outer = try? JSONDecoder().decode(Outer.self, from: data), let section = outer.quantization_config, section != .null {
            guard case .object(let json) = section else { throw ModelError("\(path): quantization_config should be an object") }
            return try parse(json, path: path + ": quantization_config")
        }
        guard let sidecar else { return nil }
        guard case .object(let json) = (try? JSONDecoder().decode(ConfigJSON.self, from: sidecar.data)) ?? .null else {
            throw ModelError("\(sidecar.path): not a JSON object")
        }
        return try parse(json, path: sidecar.path)
    }

    /// Parses a quantization config object; `path` names it in errors.
    static func parse(_ json: [String: ConfigJSON], path: String) throws -> QuantizationConfig {
        let field = Fields(json: json, path: path)
        let method = try field.string("quant_method")?.lowercased() ?? "gptq"  // quantize_config.json carries no quant_method
        switch method {
        case "gptq": return try gptq(field)
        case "awq": return try awq(field)
        case "compressed-tensors": return try compressedTensors(field)
        case "fp8": return try fp8(field)
        default:
            throw ModelError("\(field.path).quant_method '\(method)' is not supported; supported: gptq, awq, compressed-tensors, fp8")
        }
    }

    private static func gptq(_ field: Fields) throws -> QuantizationConfig {
        let bits = try field.int("bits") ?? 4
        guard bits == 4 || bits == 8 else {
            throw ModelError("\(field.path).bits \(bits) is not supported (GPTQ: 4 or 8; vLLM's slower 2- and 3-bit GPTQ kernel has no counterpart here)")
        }
        let groupSize = try groupSize(field, "group_size", default: 128)
        let format = try field.string("checkpoint_format") ?? "gptq"
        guard format == "gptq" || format == "gptq_v2" else {
            throw ModelError("\(field.path).checkpoint_format '\(format)' is not supported; supported: gptq, gptq_v2")
        }
        return QuantizationConfig(method: "gptq",
                                  weights: .gptq(bits: bits, groupSize: groupSize, descAct: try field.bool("desc_act") ?? false,
                                                 symmetric: try field.bool("sym") ?? true, zeroOffset: format == "gptq" ? 1 : 0),
                                  activations: nil, quantizedModules: try field.moduleList("modules_in_block_to_quantize"))
    }

    private static func awq(_ field: Fields) throws -> QuantizationConfig {
        // AutoAWQ's quant_config.json says w_bit and q_group_size; the config.json transformers writes, bits and group_size.
        let bitsKey = field.has("w_bit") ? "w_bit" : "bits", groupKey = field.has("q_group_size") ? "q_group_size" : "group_size"
        let bits = try field.int(bitsKey) ?? 4
        guard bits == 4 else { throw ModelError("\(field.path).\(bitsKey) \(bits) is not supported (AWQ: 4)") }
        let version = try field.string("version")?.lowercased() ?? "gemm"
        guard version == "gemm" else {
            throw ModelError("\(field.path).version '\(version)' is not supported; supported: gemm (GEMV and Marlin-packed AWQ checkpoints lay weights out differently)")
        }
        guard try field.bool("zero_point") ?? true else {
            throw ModelError("\(field.path).zero_point false is not supported (AWQ GEMM checkpoints carry zero points)")
        }
        guard let groupSize = try groupSize(field, groupKey, default: 128) else {
            throw ModelError("\(field.path).\(groupKey) -1 is not supported (AWQ: a positive group size)")
        }
        return QuantizationConfig(method: "awq", weights: .awq(bits: bits, groupSize: groupSize), activations: nil)
    }

    private static func fp8(_ field: Fields) throws -> QuantizationConfig {
        let format = try field.string("fmt") ?? "e4m3"
        guard format == "e4m3" else { throw ModelError("\(field.path).fmt '\(format)' is not supported; supported: e4m3") }
        let scheme = try field.string("activation_scheme") ?? "dynamic"
        guard scheme == "dynamic" || scheme == "static" else {
            throw ModelError("\(field.path).activation_scheme '\(scheme)' is not supported; supported: dynamic, static")
        }
        let block = try field.ints("weight_block_size")
        if let block, block.count != 2 || block.contains(where: { $0 <= 0 }) {
            throw ModelError("\(field.path).weight_block_size \(block) should be two positive sizes [rows, columns]")
        }
        return QuantizationConfig(method: "fp8", weights: .fp8(block: block), activations: scheme == "static" ? .static : .dynamic)
    }

    private static func compressedTensors(_ field: Fields) throws -> QuantizationConfig {
        // Sparse (2:4) weights and rotation transforms change what the tensors mean: refused, not misread.
        if let sparsity = try field.object("sparsity_config"), !sparsity.isEmpty {
            let sparseFormat = try Fields(json: sparsity, path: field.path + ".sparsity_config").string("format") ?? "(none)"
            guard sparseFormat == "dense" else {
                throw ModelError("\(field.path).sparsity_config.format '\(sparseFormat)' is not supported (sparse weights); supported: dense or none")
            }
        }
        if let transforms = try field.object("transform_config"), let groups = transforms["config_groups"], groups != .object([:]) {
            throw ModelError("\(field.path).transform_config holds transforms (\(groups)); rotated checkpoints are not supported")
        }
        let format = try field.string("format") ?? ""
        let groups = try field.object("config_groups") ?? [:]
        guard groups.count == 1, let (name, group) = groups.first, case .object(let groupJSON) = group else {
            throw ModelError("\(field.path).config_groups has \(groups.count) groups; supported: exactly one scheme for all Linear layers")
        }
        let scheme = Fields(json: groupJSON, path: field.path + ".config_groups." + name)
        let targets = try scheme.strings("targets") ?? ["Linear"]
        guard targets == ["Linear"] else {
            throw ModelError("\(scheme.path).targets \(targets) is not supported; supported: [\"Linear\"]")
        }
        guard let weightsJSON = try scheme.object("weights") else { throw ModelError("\(scheme.path).weights is missing") }
        let weights = Fields(json: weightsJSON, path: scheme.path + ".weights")
        let type = try weights.string("type") ?? "int", bits = try weights.int("num_bits") ?? 8
        let strategy = try weights.string("strategy") ?? "tensor", symmetric = try weights.bool("symmetric") ?? true
        let groupFormat = (try scheme.string("format")) ?? format

        var activations: ActivationScheme?
        if let inputJSON = try scheme.object("input_activations") {
            let input = Fields(json: inputJSON, path: scheme.path + ".input_activations")
            let dynamic = try input.bool("dynamic") ?? false
            let inputStrategy = try input.string("strategy") ?? "tensor"
            guard (dynamic && ["token", "group"].contains(inputStrategy)) || (!dynamic && inputStrategy == "tensor") else {
                throw ModelError("\(input.path): strategy '\(inputStrategy)' with dynamic \(dynamic) is not supported; supported: dynamic per token or token group, static per tensor")
            }
            activations = dynamic ? .dynamic : .static
        }

        func groupSize() throws -> Int? {
            switch strategy {
            case "channel": return nil
            case "group":
                guard let size = try weights.int("group_size"), size > 0 else {
                    throw ModelError("\(weights.path).group_size should be a positive number for strategy 'group'")
                }
                return size
            default:
                throw ModelError("\(weights.path).strategy '\(strategy)' is not supported for \(bits)-bit int weights; supported: group, channel")
            }
        }
        let weightScheme: WeightScheme
        switch (groupFormat, type) {
        case ("pack-quantized", "int"):
            guard bits == 4 || bits == 8 else { throw ModelError("\(weights.path).num_bits \(bits) is not supported; supported: 4, 8") }
            guard activations == nil else { throw ModelError("\(scheme.path): pack-quantized weights with quantized activations are not supported") }
            weightScheme = .packed(bits: bits, groupSize: try groupSize(), symmetric: symmetric)
        case ("int-quantized", "int"), ("naive-quantized", "int"):
            guard bits == 8 else { throw ModelError("\(weights.path).num_bits \(bits) is not supported for \(groupFormat); supported: 8") }
            guard strategy == "channel" || strategy == "tensor" else {
                throw ModelError("\(weights.path).strategy '\(strategy)' is not supported for int8 weights; supported: channel, tensor")
            }
            weightScheme = .int8(symmetric: symmetric)
        case ("float-quantized", "float"), ("naive-quantized", "float"):
            guard bits == 8 else { throw ModelError("\(weights.path).num_bits \(bits) is not supported for float weights; supported: 8 (FP8 e4m3)") }
            switch strategy {
            case "tensor", "channel": weightScheme = .fp8(block: nil)
            case "block":
                guard let block = try weights.ints("block_structure"), block.count == 2, block.allSatisfy({ $0 > 0 }) else {
                    throw ModelError("\(weights.path).block_structure should be two positive sizes for strategy 'block'")
                }
                weightScheme = .fp8(block: block)
            default:
                throw ModelError("\(weights.path).strategy '\(strategy)' is not supported for FP8 weights; supported: tensor, channel, block")
            }
        default:
            throw ModelError("\(field.path).format '\(groupFormat)' with \(type) weights is not supported; supported: pack-quantized (int 4/8-bit), int-quantized (int8), float-quantized (fp8)")
        }
        return QuantizationConfig(method: "compressed-tensors", weights: weightScheme, activations: activations)
    }

    /// A group size field: -1 means one group over the whole input (nil).
    private static func groupSize(_ field: Fields, _ key: String, default value: Int) throws -> Int? {
        let size = try field.int(key) ?? value
        if size == -1 { return nil }
        guard size > 0 else { throw ModelError("\(field.path).\(key) \(size) should be a positive group size or -1") }
        return size
    }

    /// Typed reads of one JSON object, each error naming the field.
    struct Fields {
        let json: [String: ConfigJSON]
        let path: String

        private func value(_ key: String) -> ConfigJSON? {
            guard let value = json[key], value != .null else { return nil }
            return value
        }
        /// Whether `key` holds a value (not null).
        func has(_ key: String) -> Bool { value(key) != nil }
        private func wrong(_ key: String, _ expected: String) -> ModelError {
            ModelError("\(path).\(key) should be \(expected), got \(json[key].map { "\($0)" } ?? "nothing")")
        }
        func string(_ key: String) throws -> String? {
            guard let value = value(key) else { return nil }
            guard case .string(let s) = value else { throw wrong(key, "a string") }
            return s
        }
        func int(_ key: String) throws -> Int? {
            guard let value = value(key) else { return nil }
            guard case .number(let n) = value, n == n.rounded(), abs(n) < 1e9 else { throw wrong(key, "an integer") }
            return Int(n)
        }
        func bool(_ key: String) throws -> Bool? {
            guard let value = value(key) else { return nil }
            guard case .bool(let b) = value else { throw wrong(key, "true or false") }
            return b
        }
        func ints(_ key: String) throws -> [Int]? {
            guard let value = value(key) else { return nil }
            guard case .array(let items) = value else { throw wrong(key, "a list of integers") }
            return try items.map {
                guard case .number(let n) = $0, n == n.rounded(), abs(n) < 1e9 else { throw wrong(key, "a list of integers") }
                return Int(n)
            }
        }
        func strings(_ key: String) throws -> [String]? {
            guard let value = value(key) else { return nil }
            guard case .array(let items) = value else { throw wrong(key, "a list of strings") }
            return try items.map {
                guard case .string(let s) = $0 else { throw wrong(key, "a list of strings") }
                return s
            }
        }
        /// A list of names, or of lists of names (transformers' GPTQConfig writes one list per block of modules), flattened
        /// as vLLM flattens it; nil when absent or empty.
        func moduleList(_ key: String) throws -> [String]? {
            guard let value = value(key) else { return nil }
            guard case .array(let items) = value else { throw wrong(key, "a list of module names") }
            let names = try items.flatMap { item -> [String] in
                switch item {
                case .string(let name): return [name]
                case .array(let inner):
                    return try inner.map {
                        guard case .string(let name) = $0 else { throw wrong(key, "a list of module names") }
                        return name
                    }
                default: throw wrong(key, "a list of module names")
                }
            }
            return names.isEmpty ? nil : names
        }
        func object(_ key: String) throws -> [String: ConfigJSON]? {
            guard let value = value(key) else { return nil }
            guard case .object(let o) = value else { throw wrong(key, "an object") }
            return o
        }
    }
}

/// A JSON value of config.json, for the sections whose shape depends on a field's value.
indirect enum ConfigJSON: Decodable, Equatable, Sendable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([ConfigJSON])
    case object([String: ConfigJSON])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([ConfigJSON].self) { self = .array(a) }
        else { self = .object(try c.decode([String: ConfigJSON].self)) }
    }

    var description: String {
        switch self {
        case .null: "null"
        case .bool(let b): "\(b)"
        case .number(let n): n == n.rounded() && abs(n) < 1e15 ? "\(Int(n))" : "\(n)"
        case .string(let s): "'\(s)'"
        case .array(let a): "[" + a.map(\.description).joined(separator: ", ") + "]"
        case .object: "an object"
        }
    }
}
