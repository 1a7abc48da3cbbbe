import CCUDA
import FoundationEssentials

/// Where the CUDA libraries are looked for: sonames first (the loader path), then `CUDA_HOME` and the
/// usual install folders. `SWIFT_VLLM_NVRTC` names an NVRTC library explicitly (e.g. pip's
/// nvidia-cuda-nvrtc wheel, which gives NVRTC without a GPU).
enum CUDALibraries {
    static var cudaHome: String? {
        ProcessInfo.processInfo.environment["CUDA_HOME"].flatMap { $0.isEmpty ? nil : $0 }
    }

    static func installFolders() -> [String] {
        var folders: [String] = []
        if let home = cudaHome { folders += ["\(home)/lib64", "\(home)/lib", "\(home)/targets/x86_64-linux/lib"] }
        folders += ["/usr/local/cuda/targets/x86_64-linux/lib", "/usr/local/cuda/lib64",
                    "/usr/lib/x86_64-linux-gnu", "/usr/local/nvidia/lib64", "/usr/lib64"]
        return folders
    }

    static var driverCandidates: [String] {
        ["libcuda.so.1", "libcuda.so"] + installFolders().map { "\($0)/libcuda.so.1" }
    }

    static var nvrtcCandidates: [String] {
        var names: [String] = []
        if let explicit = ProcessInfo.processInfo.environment["SWIFT_VLLM_NVRTC"], !explicit.isEmpty {
            names.append(explicit)
        }
        names += ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"]
        for folder in installFolders() { names += ["\(folder)/libnvrtc.so.13", "\(folder)/libnvrtc.so.12"] }
        return names
    }

    static var blasLtCandidates: [String] {
        ["libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so"]
            + installFolders().flatMap { ["\($0)/libcublasLt.so.13", "\($0)/libcublasLt.so.12"] }
    }

    /// The first candidate that dlopens, or an error listing every path tried and why each failed.
    static func open(_ what: String, candidates: [String], global: Bool = false) throws -> UnsafeMutableRawPointer {
        var failures: [String] = []
        for path in candidates {
            if path.hasPrefix("/") && !FileManager.default.fileExists(atPath: path) {
                failures.append("\(path) (absent)")
                continue
            }
            if path.contains("nvrtc") { preloadNVRTCBuiltins(besides: path) }
            if let handle = ccuda_dlopen(path, global ? 1 : 0) { return handle }
            failures.append("\(path) (\(String(cString: ccuda_dlerror())))")
        }
        throw CUDAError("\(what) not found; looked for: " + failures.joined(separator: ", "))
    }

    /// NVRTC dlopens `libnvrtc-builtins.so.<major>.<minor>` by name; when NVRTC comes from a folder not on
    /// the loader path (a pip wheel), opening the builtins from that same folder first makes that work.
    private static func preloadNVRTCBuiltins(besides nvrtcPath: String) {
        guard nvrtcPath.hasPrefix("/") else { return }
        let folder = String(nvrtcPath[..<(nvrtcPath.lastIndex(of: "/") ?? nvrtcPath.startIndex)])
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
        for entry in entries.sorted() where entry.hasPrefix("libnvrtc-builtins.so") {
            _ = ccuda_dlopen("\(folder)/\(entry)", 1)
        }
    }
}

/// The CUDA driver API's entry points, resolved once.
final class CUDADriverAPI: @unchecked Sendable {
    // @unchecked: an immutable table of C function pointers, filled before init returns.
    let raw: CCUDADriver

    init() throws {
        let library = try CUDALibraries.open("CUDA driver (libcuda)", candidates: CUDALibraries.driverCandidates)
        var table = CCUDADriver()
        if let missing = ccuda_load_driver(library, &table) {
            throw CUDAError("CUDA driver library lacks \(String(cString: missing)) (driver too old?)")
        }
        raw = table
    }
}

/// NVRTC's entry points, resolved once.
final class NVRTCAPI: @unchecked Sendable {
    // @unchecked: an immutable table of C function pointers, filled before init returns.
    let raw: CCUDANVRTC

    init() throws {
        let library = try CUDALibraries.open("NVRTC (libnvrtc)", candidates: CUDALibraries.nvrtcCandidates)
        var table = CCUDANVRTC()
        if let missing = ccuda_load_nvrtc(library, &table) {
            throw CUDAError("NVRTC library lacks \(String(cString: missing))")
        }
        raw = table
    }

    /// `major.minor` of the NVRTC in use (part of the kernel cache key).
    var version: String {
        var major: Int32 = 0
        var minor: Int32 = 0
        _ = raw.nvrtcVersion!(&major, &minor)
        return "\(major).\(minor)"
    }

    func check(_ result: nvrtcResult, _ call: @autoclosure () -> String) throws {
        guard result != 0 else { return }
        throw CUDAError("\(call()) failed: \(raw.nvrtcGetErrorString!(result).map { String(cString: $0) } ?? "NVRTC error \(result)")")
    }
}

/// cuBLASLt's entry points, resolved once.
final class BlasLtAPI: @unchecked Sendable {
    // @unchecked: an immutable table of C function pointers, filled before init returns.
    let raw: CCUDABlasLt

    init() throws {
        let library = try CUDALibraries.open("cuBLASLt (libcublasLt)", candidates: CUDALibraries.blasLtCandidates)
        var table = CCUDABlasLt()
        if let missing = ccuda_load_blaslt(library, &table) {
            throw CUDAError("cuBLASLt library lacks \(String(cString: missing))")
        }
        raw = table
    }

    func check(_ status: cublasStatus_t, _ call: @autoclosure () -> String) throws {
        guard status != 0 else { return }
        throw CUDAError("\(call()) failed: \(raw.cublasLtGetStatusName!(status).map { String(cString: $0) } ?? "cuBLAS status \(status)")")
    }
}
