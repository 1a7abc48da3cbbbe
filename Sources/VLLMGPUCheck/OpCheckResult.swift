#if canImport(Glibc)
import Glibc
#endif

/// One row of the check table.
public struct OpCheckResult: Sendable {
    public var op: String
    public var shape: String
    public var error: Float
    public var tolerance: Float
    public var note = ""

    public var passed: Bool { error.isFinite && error <= tolerance }

    public static func table(_ results: [OpCheckResult]) -> String {
        let opWidth = max(2, results.map(\.op.count).max() ?? 0)
        let shapeWidth = max(5, results.map(\.shape.count).max() ?? 0)
        func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
        var lines = [pad("op", opWidth) + "  " + pad("shape", shapeWidth) + "  rel.error   tol       result"]
        for result in results {
            let error = result.error.isFinite ? formatScientific(result.error) : "\(result.error)"
            lines.append(pad(result.op, opWidth) + "  " + pad(result.shape, shapeWidth) + "  " + pad(error, 10) + "  "
                         + pad(formatScientific(result.tolerance), 8) + "  " + (result.passed ? "pass" : "FAIL")
                         + (result.note.isEmpty ? "" : "  " + result.note))
        }
        return lines.joined(separator: "\n")
    }
}

/// `1.23e-03`.
func formatScientific(_ value: Float) -> String {
    if value == 0 { return "0" }
    var exponent = 0
    var mantissa = Double(value)
    while abs(mantissa) >= 10 { mantissa /= 10; exponent += 1 }
    while abs(mantissa) < 1 { mantissa *= 10; exponent -= 1 }
    let rounded = (mantissa * 100).rounded() / 100
    let sign = exponent < 0 ? "-" : "+"
    let digits = abs(exponent) < 10 ? "0\(abs(exponent))" : "\(abs(exponent))"
    return "\(rounded)e\(sign)\(digits)"
}

/// ‖a − b‖ / ‖b‖ (0 when both are zero; NaN anywhere gives NaN).
func relativeError(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "comparing \(a.count) with \(b.count) values")
    var difference = 0.0
    var norm = 0.0
    for (x, y) in zip(a, b) {
        if x.isNaN || y.isNaN { return .nan }
        difference += Double(x - y) * Double(x - y)
        norm += Double(y) * Double(y)
    }
    if norm == 0 { return difference == 0 ? 0 : .infinity }
    return Float((difference / norm).squareRoot())
}
