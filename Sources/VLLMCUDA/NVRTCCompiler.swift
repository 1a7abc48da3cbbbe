import CCUDA
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// Compiles the embedded kernel families to CUBIN for one GPU architecture with NVRTC, through an
/// on-disk cache keyed by (source and headers, architecture, options, NVRTC version): a cache hit
/// compiles nothing.
public final class NVRTCCompiler: Sendable {
    let api: NVRTCAPI
    /// `sm_86` for compute capability 8.6; `sm_90a` for 9.0 (Hopper's architecture-specific features: wgmma, used by
    /// linear_int4_wgmma.cu; such a CUBIN runs on 9.0 only, which is the device it is compiled for).
    public let architecture: String
    /// `nil` disables the disk cache.
    public let cacheDirectory: String?
    let options: [String]

    /// - Parameters:
    ///   - computeCapability: (major, minor) of the target device.
    ///   - cacheDirectory: where compiled CUBINs are kept; `nil` for no cache.
    public init(computeCapability: (Int, Int), cacheDirectory: String?) throws {
        api = try NVRTCAPI()
        architecture = "sm_\(computeCapability.0)\(computeCapability.1)\(computeCapability == (9, 0) ? "a" : "")"
        self.cacheDirectory = cacheDirectory
        var options = ["--gpu-architecture=\(architecture)", "--std=c++17", "-lineinfo"]
        // The kernels include nothing from CUDA; the include path only serves local experiments.
        if let home = CUDALibraries.cudaHome { options.append("-I\(home)/include") }
        self.options = options
    }

    /// The default cache folder: `$XDG_CACHE_HOME/swift-vllm/kernels` or `~/.cache/swift-vllm/kernels`.
    public static var defaultCacheDirectory: String {
        let environment = ProcessInfo.processInfo.environment
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty { return "\(xdg)/swift-vllm/kernels" }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        return "\(home)/.cache/swift-vllm/kernels"
    }

    /// Whether a CUBIN came from the cache or was compiled now.
    public enum Origin: String, Sendable { case cache, compiled }

    /// The CUBIN of `family`, from the disk cache when present.
    public func cubin(for family: KernelSource) throws -> (bytes: [UInt8], origin: Origin) {
        let key = cacheKey(for: family)
        let path = cacheDirectory.map { "\($0)/\(family.family)-\(architecture)-\(key).cubin" }
        if let path, let data = FileManager.default.contents(atPath: path), !data.isEmpty {
            return ([UInt8](data), .cache)
        }
        let bytes = try compile(family)
        if let path, let directory = cacheDirectory {
            // A cache that cannot be written only costs a compile next time.
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let temporary = "\(path).\(ProcessInfo.processInfo.processIdentifier).tmp"
            if FileManager.default.createFile(atPath: temporary, contents: Data(bytes)) {
                _ = try? FileManager.default.moveItem(atPath: temporary, toPath: path)
                try? FileManager.default.removeItem(atPath: temporary)
            }
        }
        return (bytes, .compiled)
    }

    /// Compiles one family to CUBIN; the error carries NVRTC's log.
    public func compile(_ family: KernelSource) throws -> [UInt8] {
        let headers = KernelSource.headers
        var program: nvrtcProgram?
        try withCStrings(headers.map(\.source)) { headerSources in
            try withCStrings(headers.map(\.name)) { headerNames in
                try api.check(
                    api.raw.nvrtcCreateProgram!(&program, family.source, family.name, Int32(headers.count),
                                                headerSources, headerNames),
                    "nvrtcCreateProgram(\(family.name))")
            }
        }
        defer { _ = api.raw.nvrtcDestroyProgram!(&program) }
        let result = withCStrings(options) { api.raw.nvrtcCompileProgram!(program, Int32(options.count), $0) }
        if result != 0 {
            throw CUDAError("NVRTC could not compile \(family.name) for \(architecture): "
                + (api.raw.nvrtcGetErrorString!(result).map { String(cString: $0) } ?? "error \(result)") + "\n" + log(of: program))
        }
        var size = 0
        try api.check(api.raw.nvrtcGetCUBINSize!(program, &size), "nvrtcGetCUBINSize(\(family.name))")
        var bytes = [UInt8](repeating: 0, count: size)
        try bytes.withUnsafeMutableBufferPointer { buffer in
            try buffer.withMemoryRebound(to: CChar.self) {
                try api.check(api.raw.nvrtcGetCUBIN!(program, $0.baseAddress), "nvrtcGetCUBIN(\(family.name))")
            }
        }
        return bytes
    }

    private func log(of program: nvrtcProgram?) -> String {
        var size = 0
        guard api.raw.nvrtcGetProgramLogSize!(program, &size) == 0, size > 1 else { return "" }
        var buffer = [CChar](repeating: 0, count: size)
        _ = api.raw.nvrtcGetProgramLog!(program, &buffer)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Two independent FNV-1a 64-bit hashes over everything that changes the CUBIN.
    func cacheKey(for family: KernelSource) -> String {
        var material = family.source
        for header in KernelSource.headers { material += "\u{0}\(header.name)\u{0}\(header.source)" }
        material += "\u{0}\(architecture)\u{0}\(options.joined(separator: " "))\u{0}nvrtc \(api.version)"
        var first: UInt64 = 0xcbf2_9ce4_8422_2325
        var second: UInt64 = 0x6c62_272e_07bb_0142
        for byte in material.utf8 {
            first = (first ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
            second = (second ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 ^ (second >> 29)
        }
        return String(first, radix: 16) + String(second, radix: 16)
    }
}

/// Calls `body` with a C array of C strings that lives for the call.
func withCStrings<Result>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) throws -> Result) rethrows -> Result {
    let duplicates = strings.map { strdup($0) }
    defer { duplicates.forEach { free($0) } }
    let pointers = duplicates.map { UnsafePointer($0) }
    return try pointers.withUnsafeBufferPointer { try body($0.baseAddress!) }
}
