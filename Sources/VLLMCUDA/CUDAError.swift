import CCUDA

/// A failure of the CUDA driver, NVRTC or cuBLASLt, or of finding them: names the call, the
/// library's own error name, and what was being done.
public struct CUDAError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension CUDADriverAPI {
    /// Throws unless `result` is CUDA_SUCCESS, with the driver's error name and text.
    func check(_ result: CUresult, _ call: @autoclosure () -> String) throws {
        guard result != 0 else { return }
        throw CUDAError("\(call()) failed: \(errorName(result))")
    }

    /// `CUDA_ERROR_OUT_OF_MEMORY (out of memory)` for a result code.
    func errorName(_ result: CUresult) -> String {
        var name: UnsafePointer<CChar>?
        var text: UnsafePointer<CChar>?
        _ = raw.cuGetErrorName!(result, &name)
        _ = raw.cuGetErrorString!(result, &text)
        let nameString = name.map { String(cString: $0) } ?? "CUDA error \(result)"
        if let text { return "\(nameString) (\(String(cString: text)))" }
        return nameString
    }
}
