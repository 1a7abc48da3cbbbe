/// Element types the engine moves between host and device.
///
/// Weights arrive as `float32`, `float16` or `bfloat16`; activations are `float32` on the CPU
/// backend and `bfloat16` on CUDA; index tensors (token ids, positions, slot mappings, block
/// tables) are always `int32`.
public enum DType: String, Sendable, CaseIterable, CustomStringConvertible {
    case float32
    case float16
    case bfloat16
    case int32

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .float32, .int32: 4
        case .float16, .bfloat16: 2
        }
    }

    public var isFloatingPoint: Bool { self != .int32 }

    public var description: String { rawValue }

    /// The dtype a safetensors header names (`"F32"`, `"F16"`, `"BF16"`, `"I32"`), if supported.
    public init?(safetensorsName: String) {
        switch safetensorsName {
        case "F32": self = .float32
        case "F16": self = .float16
        case "BF16": self = .bfloat16
        case "I32": self = .int32
        default: return nil
        }
    }

    /// The dtype named by `--dtype` / config.json `torch_dtype` (`"float32"`, `"bfloat16"`, `"half"`…).
    public init?(configName: String) {
        switch configName.lowercased() {
        case "float32", "float", "fp32", "f32": self = .float32
        case "float16", "half", "fp16", "f16": self = .float16
        case "bfloat16", "bf16": self = .bfloat16
        default: return nil
        }
    }
}
