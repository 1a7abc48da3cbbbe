/// GPT-2's reversible map between bytes and printable scalars: byte-level BPE vocabularies are written in
/// these scalars ("Ġ" is the space byte 0x20).
struct ByteLevelAlphabet: Sendable {
    /// The scalar value for each byte.
    let scalarForByte: [UInt32]
    /// The byte for each scalar value below 512 (all of the alphabet), nil elsewhere.
    let byteForScalar: [UInt8?]

    init() {
        var scalars = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            let printable = (33...126).contains(byte) || (161...172).contains(byte) || (174...255).contains(byte)
            if printable {
                scalars[byte] = UInt32(byte)
            } else {
                scalars[byte] = next
                next += 1
            }
        }
        var bytes = [UInt8?](repeating: nil, count: 512)
        for (byte, scalar) in scalars.enumerated() { bytes[Int(scalar)] = UInt8(byte) }
        scalarForByte = scalars
        byteForScalar = bytes
    }

    /// The byte a scalar of the alphabet stands for.
    @inline(__always) func byte(for scalar: UInt32) -> UInt8? {
        scalar < 512 ? byteForScalar[Int(scalar)] : nil
    }
}

/// UTF-8 encoding of scalar values, without going through `String`.
enum UTF8Scalars {
    @inline(__always) static func append(_ value: UInt32, to bytes: inout [UInt8]) {
        switch value {
        case 0..<0x80:
            bytes.append(UInt8(value))
        case 0x80..<0x800:
            bytes.append(UInt8(0xC0 | (value >> 6)))
            bytes.append(UInt8(0x80 | (value & 0x3F)))
        case 0x800..<0x10000:
            bytes.append(UInt8(0xE0 | (value >> 12)))
            bytes.append(UInt8(0x80 | ((value >> 6) & 0x3F)))
            bytes.append(UInt8(0x80 | (value & 0x3F)))
        default:
            bytes.append(UInt8(0xF0 | (value >> 18)))
            bytes.append(UInt8(0x80 | ((value >> 12) & 0x3F)))
            bytes.append(UInt8(0x80 | ((value >> 6) & 0x3F)))
            bytes.append(UInt8(0x80 | (value & 0x3F)))
        }
    }

    static func bytes<S: Sequence>(_ values: S) -> [UInt8] where S.Element == UInt32 {
        var result: [UInt8] = []
        for value in values { append(value, to: &result) }
        return result
    }

    static func scalars(_ string: String) -> [UInt32] { string.unicodeScalars.map(\.value) }

    static func string<S: Sequence>(_ values: S) -> String where S.Element == UInt32 {
        var result = String.UnicodeScalarView()
        for value in values {
            if let scalar = Unicode.Scalar(value) { result.append(scalar) }
        }
        return String(result)
    }
}
