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

extension DType {
    /// Element `index` of host memory holding values of this dtype, as a Float (exact for every
    /// float format; int32 converted).
    @inlinable
    public func loadFloat(from base: UnsafeRawPointer, at index: Int) -> Float {
        switch self {
        case .float32: base.loadUnaligned(fromByteOffset: index * 4, as: Float.self)
        case .bfloat16: HalfPrecision.float(fromBFloat16: base.loadUnaligned(fromByteOffset: index * 2, as: UInt16.self))
        case .float16: HalfPrecision.float(fromFloat16: base.loadUnaligned(fromByteOffset: index * 2, as: UInt16.self))
        case .int32: Float(base.loadUnaligned(fromByteOffset: index * 4, as: Int32.self))
        }
    }

    /// Stores `value` as element `index` of host memory of this dtype (round to nearest even for the
    /// 16-bit formats, as PyTorch).
    @inlinable
    public func storeFloat(_ value: Float, to base: UnsafeMutableRawPointer, at index: Int) {
        switch self {
        case .float32: base.storeBytes(of: value, toByteOffset: index * 4, as: Float.self)
        case .bfloat16: base.storeBytes(of: HalfPrecision.bfloat16(from: value), toByteOffset: index * 2, as: UInt16.self)
        case .float16: base.storeBytes(of: HalfPrecision.float16(from: value), toByteOffset: index * 2, as: UInt16.self)
        case .int32: base.storeBytes(of: Int32(value), toByteOffset: index * 4, as: Int32.self)
        }
    }
}
