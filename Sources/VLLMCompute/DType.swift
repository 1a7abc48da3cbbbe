/// Element types the engine moves between host and device.
///
/// Weights arrive as `float32`, `float16` or `bfloat16` (quantized checkpoints add `int32` packs,
/// `int8` and the two fp8 formats); activations are `float32` on the CPU backend and `bfloat16` on
/// CUDA; the KV cache is the activation dtype or fp8 (`--kv-cache-dtype`); index tensors (token ids,
/// positions, slot mappings, block tables) are always `int32`.
public enum DType: String, Sendable, CaseIterable, CustomStringConvertible {
    case float32
    case float16
    case bfloat16
    case float8E4M3 = "float8_e4m3fn"
    case float8E5M2 = "float8_e5m2"
    case int32
    case int8

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .float32, .int32: 4
        case .float16, .bfloat16: 2
        case .float8E4M3, .float8E5M2, .int8: 1
        }
    }

    public var isFloatingPoint: Bool { self != .int32 && self != .int8 }

    /// The fp8 format of an 8-bit float dtype.
    public var float8Format: Float8Format? {
        switch self {
        case .float8E4M3: .e4m3fn
        case .float8E5M2: .e5m2
        default: nil
        }
    }

    /// The name a safetensors header gives this dtype.
    public var safetensorsName: String {
        switch self {
        case .float32: "F32"
        case .float16: "F16"
        case .bfloat16: "BF16"
        case .float8E4M3: "F8_E4M3"
        case .float8E5M2: "F8_E5M2"
        case .int32: "I32"
        case .int8: "I8"
        }
    }

    public var description: String { rawValue }

    /// The dtype a safetensors header names (`"F32"`, `"BF16"`, `"F8_E4M3"`, `"I32"`, `"I8"`…), if supported.
    public init?(safetensorsName: String) {
        guard let dtype = DType.allCases.first(where: { $0.safetensorsName == safetensorsName }) else { return nil }
        self = dtype
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
        case .float8E4M3: Float8Format.e4m3fn.decode(base.load(fromByteOffset: index, as: UInt8.self))
        case .float8E5M2: Float8Format.e5m2.decode(base.load(fromByteOffset: index, as: UInt8.self))
        case .int32: Float(base.loadUnaligned(fromByteOffset: index * 4, as: Int32.self))
        case .int8: Float(base.load(fromByteOffset: index, as: Int8.self))
        }
    }

    /// Stores `value` as element `index` of host memory of this dtype (round to nearest even for the
    /// 16-bit formats, as PyTorch; fp8 saturates, as vLLM's conversions).
    @inlinable
    public func storeFloat(_ value: Float, to base: UnsafeMutableRawPointer, at index: Int) {
        switch self {
        case .float32: base.storeBytes(of: value, toByteOffset: index * 4, as: Float.self)
        case .bfloat16: base.storeBytes(of: HalfPrecision.bfloat16(from: value), toByteOffset: index * 2, as: UInt16.self)
        case .float16: base.storeBytes(of: HalfPrecision.float16(from: value), toByteOffset: index * 2, as: UInt16.self)
        case .float8E4M3: base.storeBytes(of: Float8Format.e4m3fn.encode(value), toByteOffset: index, as: UInt8.self)
        case .float8E5M2: base.storeBytes(of: Float8Format.e5m2.encode(value), toByteOffset: index, as: UInt8.self)
        case .int32: base.storeBytes(of: Int32(value), toByteOffset: index * 4, as: Int32.self)
        case .int8: base.storeBytes(of: Int8(max(-128, min(127, value.rounded(.toNearestOrEven)))), toByteOffset: index, as: Int8.self)
        }
    }
}
