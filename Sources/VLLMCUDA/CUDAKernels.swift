import CCUDA
import Dispatch
import FoundationEssentials

/// The loaded kernel modules of one context: a family is compiled (or read from the disk cache)
/// and loaded on first use, and its functions looked up once.
final class CUDAKernels: Sendable {
    let context: CUDAContext
    let compiler: NVRTCCompiler

    private struct State {
        var modules: [String: CUmodule] = [:]
        var functions: [String: CUfunction] = [:]
        /// A lock a family, so that a family is compiled and loaded once when the background loader and a launch ask
        /// for it at the same time (the later one waits for the first).
        var familyLocks: [String: Protected<Void>] = [:]
    }
    // @unchecked-free: CUmodule/CUfunction are opaque pointers guarded by the lock.
    private let state = Protected(State())
    /// Kernels launched so far (`CUDABackend.takeQuantizedInput` asks whether anything ran since an op).
    private let launches = Protected(0)
    var launchCount: Int { launches.withLock { $0 } }

    init(context: CUDAContext, compiler: NVRTCCompiler) {
        self.context = context
        self.compiler = compiler
    }

    /// Loads `family` (compiling it if needed); returns where its CUBIN came from, or nil if already loaded.
    @discardableResult
    func load(_ family: KernelSource) throws -> NVRTCCompiler.Origin? {
        let familyLock = state.withLock { state -> Protected<Void>? in
            if state.modules[family.family] != nil { return nil }
            if let lock = state.familyLocks[family.family] { return lock }
            let lock = Protected(())
            state.familyLocks[family.family] = lock
            return lock
        }
        guard let familyLock else { return nil }
        return try familyLock.withLock { _ in
            if state.withLock({ $0.modules[family.family] != nil }) { return nil }
            return try compileAndLoad(family)
        }
    }

    /// Compiles and loads every family of `families`, in order, on background threads (a quarter of the cores, at
    /// most 4), so that the launches after start-up find them loaded (a launch that needs a family being compiled
    /// waits for it). A family that fails here is left for the launch that needs it to report.
    func loadInBackground(_ families: [KernelSource]) {
        let queue = Protected(families[...])
        for _ in 0..<min(4, max(1, ProcessInfo.processInfo.activeProcessorCount / 4)) {
            DispatchQueue.global(qos: .utility).async {
                while let family = queue.withLock({ $0.popFirst() }) { _ = try? self.load(family) }
            }
        }
    }

    private func compileAndLoad(_ family: KernelSource) throws -> NVRTCCompiler.Origin {
        let (cubin, origin) = try compiler.cubin(for: family)
        try context.makeCurrent()
        var module: CUmodule?
        try cubin.withUnsafeBytes { bytes in
            try context.driver.check(context.driver.raw.cuModuleLoadData!(&module, bytes.baseAddress),
                                     "cuModuleLoadData(\(family.name))")
        }
        guard let module else { throw CUDAError("cuModuleLoadData(\(family.name)) returned no module") }
        var functions: [String: CUfunction] = [:]
        for entry in family.entryPoints {
            var function: CUfunction?
            try context.driver.check(context.driver.raw.cuModuleGetFunction!(&function, module, entry),
                                     "cuModuleGetFunction(\(entry))")
            functions[entry] = function
        }
        state.withLock { state in
            state.modules[family.family] = module
            state.functions.merge(functions) { old, _ in old }
        }
        return origin
    }

    /// The entry point `name` of family `family` (e.g. `("layernorm", "rms_norm_bf16")`).
    func function(_ name: String, in family: String) throws -> CUfunction {
        if let function = state.withLock({ $0.functions[name] }) { return function }
        guard let source = KernelSource.families.first(where: { $0.family == family }) else {
            throw CUDAError("no kernel family \(family)")
        }
        try load(source)
        guard let function = state.withLock({ $0.functions[name] }) else {
            throw CUDAError("kernel family \(family) has no entry point \(name)")
        }
        return function
    }
}

/// One argument of a kernel launch, stored as the C type the kernel declares.
enum KernelArgument {
    case pointer(UInt64)
    case int32(Int32)
    case int64(Int64)
    case float(Float)
    /// A CUtensorMap passed by value (`const __grid_constant__ TensorMap`, linear_int4_wgmma.cu).
    case tensorMap(TensorMapBytes)

    /// Bytes and alignment of the C parameter.
    var layout: (size: Int, alignment: Int) {
        switch self {
        case .pointer, .int64: (8, 8)
        case .int32, .float: (4, 4)
        case .tensorMap: (TensorMapBytes.size, TensorMapBytes.alignment)
        }
    }

    /// Where each argument sits in the launch's staging buffer — a slot of its own size and alignment, since the
    /// driver copies each parameter from its pointer — and the buffer's size.
    static func offsets(_ arguments: [KernelArgument]) -> (offsets: [Int], end: Int) {
        var offsets: [Int] = [], end = 0
        for argument in arguments {
            let (size, alignment) = argument.layout
            let offset = (end + alignment - 1) / alignment * alignment
            offsets.append(offset)
            end = offset + size
        }
        return (offsets, end)
    }
}

/// The 128 opaque bytes of a CUtensorMap, as cuTensorMapEncodeTiled writes them.
struct TensorMapBytes {
    static let size = 128, alignment = 64
    var words = [UInt64](repeating: 0, count: 16)
}

extension CUDAKernels {
    /// Programmatic dependent launch (sm_90 and later) for every kernel of Kernels/: the next kernel's
    /// launch overlaps the end of the one before, and it waits for its results at `grid_dependency_wait()`
    /// (common.cuh): its first statement, or the first after its loads of data no kernel of the step writes
    /// (docs/gpu.md). `SWIFT_VLLM_PDL=0` launches them plainly, for timing both.
    static let isDependentLaunchEnabled = ProcessInfo.processInfo.environment["SWIFT_VLLM_PDL"] != "0"

    /// Launches `name` on `stream` and checks the launch.
    func launch(_ name: String, in family: String, grid: (Int, Int, Int), block: (Int, Int, Int),
                sharedBytes: Int = 0, stream: CUDAStream, arguments: [KernelArgument]) throws {
        let function = try self.function(name, in: family)
        guard grid.0 > 0 && grid.1 > 0 && grid.2 > 0 else { return }  // nothing to do (0 tokens)
        if sharedBytes > 48 * 1024 {
            try context.driver.check(
                context.driver.raw.cuFuncSetAttribute!(
                    function, Int32(CCUDA_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES), Int32(sharedBytes)),
                "cuFuncSetAttribute(\(name), max dynamic shared memory \(sharedBytes))")
        }
        let (offsets, end) = KernelArgument.offsets(arguments)
        let storage = UnsafeMutableRawPointer.allocate(byteCount: max(8, end), alignment: TensorMapBytes.alignment)
        defer { storage.deallocate() }
        var pointers: [UnsafeMutableRawPointer?] = []
        for (argument, offset) in zip(arguments, offsets) {
            let slot = storage + offset
            switch argument {
            case .pointer(let value): slot.storeBytes(of: value, as: UInt64.self)
            case .int32(let value): slot.storeBytes(of: value, as: Int32.self)
            case .int64(let value): slot.storeBytes(of: value, as: Int64.self)
            case .float(let value): slot.storeBytes(of: value, as: Float.self)
            case .tensorMap(let map):
                for (index, word) in map.words.enumerated() { (slot + 8 * index).storeBytes(of: word, as: UInt64.self) }
            }
            pointers.append(slot)
        }
        try context.makeCurrent()
        let dependent = Self.isDependentLaunchEnabled && context.computeCapability.major >= 9
        let result = pointers.withUnsafeMutableBufferPointer { buffer in
            if dependent {
                return withUnsafePointer(to: context.driver.raw) { api in
                    ccuda_launch_kernel_dependent(
                        api, function, UInt32(grid.0), UInt32(grid.1), UInt32(grid.2), UInt32(block.0), UInt32(block.1),
                        UInt32(block.2), UInt32(sharedBytes), stream.handle, buffer.baseAddress)
                }
            }
            return context.driver.raw.cuLaunchKernel!(
                function, UInt32(grid.0), UInt32(grid.1), UInt32(grid.2), UInt32(block.0), UInt32(block.1),
                UInt32(block.2), UInt32(sharedBytes), stream.handle, buffer.baseAddress, nil)
        }
        try context.driver.check(result, "cuLaunchKernel(\(name), grid \(grid), block \(block), shared \(sharedBytes))")
        launches.withLock { $0 += 1 }
    }
}
