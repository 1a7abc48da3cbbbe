import CCUDA
import VLLMCompute

/// Tensor parallelism across the GPUs of this process: one NCCL communicator per rank, each rank a
/// `CUDABackend` on its own GPU, every collective queued on that backend's stream (so it orders with the
/// rank's kernels and is recorded into its CUDA graphs like them). NCCL is opened by dlopen (`libnccl.so.2`).
/// All-reduces of up to `PeerAllReduce.capacityBytes` (decode steps) take the one-kernel peer-memory path
/// where the GPUs reach each other's memory.
public final class NCCLCommunicator: Communicator, @unchecked Sendable {
    // @unchecked: the handles are immutable after init; NCCL and the stream order the work.
    public let rank: Int
    public let size: Int
    let backend: CUDABackend
    let api: NCCLAPI
    private let comm: ncclComm_t
    /// The small all-reduces' path, where every pair of GPUs has peer access.
    let peer: PeerAllReduce?

    /// One communicator per backend (rank r on `backends[r]`'s GPU), created together as NCCL's
    /// one-thread-many-devices initialization asks (a group call). Throws naming NCCL's error, or where
    /// the library was looked for.
    public static func group(backends: [CUDABackend]) throws -> [NCCLCommunicator] {
        let api = try NCCLAPI()
        var id = ncclUniqueId()
        try api.check(api.raw.ncclGetUniqueId!(&id), "ncclGetUniqueId")
        var comms = [ncclComm_t?](repeating: nil, count: backends.count)
        try api.check(api.raw.ncclGroupStart!(), "ncclGroupStart")
        var failure: (any Error)?
        for (rank, backend) in backends.enumerated() where failure == nil {
            do {
                try backend.context.makeCurrent()
                try api.check(api.raw.ncclCommInitRank!(&comms[rank], Int32(backends.count), id, Int32(rank)),
                              "ncclCommInitRank(rank \(rank) on \(backend.name))")
            } catch {
                failure = error
            }
        }
        let ended = api.raw.ncclGroupEnd!()
        if let failure { throw failure }
        try api.check(ended, "ncclGroupEnd (creating \(backends.count) communicators)")
        let peers = try PeerAllReduce.group(backends: backends)
        return try backends.enumerated().map { rank, backend in
            guard let comm = comms[rank] else { throw CUDAError("ncclCommInitRank gave rank \(rank) no communicator") }
            return NCCLCommunicator(rank: rank, size: backends.count, backend: backend, api: api, comm: comm, peer: peers?[rank])
        }
    }

    private init(rank: Int, size: Int, backend: CUDABackend, api: NCCLAPI, comm: ncclComm_t, peer: PeerAllReduce?) {
        self.rank = rank
        self.size = size
        self.backend = backend
        self.api = api
        self.comm = comm
        self.peer = peer
    }

    deinit { _ = api.raw.ncclCommDestroy!(comm) }

    /// NCCL's version as `major.minor.patch`.
    public var version: String {
        var code: Int32 = 0
        _ = api.raw.ncclGetVersion!(&code)
        return code >= 10000 ? "\(code / 10000).\(code % 10000 / 100).\(code % 100)" : "\(code / 1000).\(code % 1000 / 100).\(code % 100)"
    }

    /// Which path all-reduces take, for the start-up log.
    public var allReducePaths: String {
        peer == nil ? "all-reduces through NCCL (no peer access between the GPUs, or SWIFT_VLLM_ALLREDUCE=nccl)"
            : "all-reduces of up to \(PeerAllReduce.capacityBytes >> 20) MiB over peer memory (one kernel), larger through NCCL"
    }

    public func allReduce(_ tensor: Tensor) throws {
        if let peer, peer.takes(tensor) { return try peer.allReduce(tensor) }
        try backend.context.makeCurrent()
        try call(api.raw.ncclAllReduce!(UnsafeRawPointer(bitPattern: tensor.address), UnsafeMutableRawPointer(bitPattern: tensor.address),
                                        tensor.count, try Self.dataType(tensor.dtype), 0, comm, backend.stream.handle),
                 "ncclAllReduce(\(tensor))")
    }

    public func allGather(_ input: Tensor, out: Tensor) throws {
        guard out.dtype == input.dtype, out.count >= size * input.count else {
            throw CUDAError("allGather: out \(out) cannot hold \(size) × \(input)")
        }
        try backend.context.makeCurrent()
        try call(api.raw.ncclAllGather!(UnsafeRawPointer(bitPattern: input.address), UnsafeMutableRawPointer(bitPattern: out.address),
                                        input.count, try Self.dataType(input.dtype), comm, backend.stream.handle),
                 "ncclAllGather(\(input))")
    }

    public func broadcast(_ tensor: Tensor, root: Int) throws {
        try backend.context.makeCurrent()
        try call(api.raw.ncclBroadcast!(UnsafeRawPointer(bitPattern: tensor.address), UnsafeMutableRawPointer(bitPattern: tensor.address),
                                        tensor.count, try Self.dataType(tensor.dtype), Int32(root), comm, backend.stream.handle),
                 "ncclBroadcast(\(tensor), root \(root))")
    }

    /// Not built on NCCL yet (ncclSend / ncclRecv): pipeline parallelism runs on the CPU backend only so far.
    public func send(_ tensor: Tensor, to peer: Int) throws {
        throw CUDAError("send: point-to-point transfers over NCCL are not built yet (pipeline parallelism runs on --device cpu only)")
    }

    public func recv(_ tensor: Tensor, from peer: Int) throws {
        throw CUDAError("recv: point-to-point transfers over NCCL are not built yet (pipeline parallelism runs on --device cpu only)")
    }

    /// Ends the communicator: collectives still queued or waiting on a peer fail instead of hanging.
    public func abort() {
        _ = api.raw.ncclCommAbort!(comm)
    }

    private func call(_ result: ncclResult_t, _ what: @autoclosure () -> String) throws {
        guard result != 0 else { return }
        throw CUDAError("\(what()) on rank \(rank) (\(backend.name)) failed: \(api.describe(result, comm: comm))")
    }

    static func dataType(_ dtype: DType) throws -> ncclDataType_t {
        switch dtype {
        case .int32: 2
        case .float16: 6
        case .float32: 7
        case .bfloat16: 9
        default: throw CUDAError("NCCL collectives take int32, float16, float32 or bfloat16 tensors, not \(dtype)")
        }
    }
}

/// NCCL's entry points, resolved once per communicator group.
final class NCCLAPI: @unchecked Sendable {
    // @unchecked: an immutable table of C function pointers, filled before init returns.
    let raw: CCUDANCCL

    static var candidates: [String] {
        ["libnccl.so.2", "libnccl.so"] + CUDALibraries.installFolders().map { "\($0)/libnccl.so.2" }
    }

    init() throws {
        let library = try CUDALibraries.open("NCCL (libnccl.so.2, needed for --tensor-parallel-size > 1)",
                                             candidates: Self.candidates)
        var table = CCUDANCCL()
        if let missing = ccuda_load_nccl(library, &table) {
            throw CUDAError("NCCL library lacks \(String(cString: missing)) (NCCL 2.13 or later is needed)")
        }
        raw = table
    }

    func check(_ result: ncclResult_t, _ call: @autoclosure () -> String) throws {
        guard result != 0 else { return }
        throw CUDAError("\(call()) failed: \(describe(result, comm: nil))")
    }

    /// NCCL's text for `result`, with the communicator's last error message where there is one.
    func describe(_ result: ncclResult_t, comm: ncclComm_t?) -> String {
        let text = raw.ncclGetErrorString!(result).map { String(cString: $0) } ?? "NCCL error \(result)"
        let detail = raw.ncclGetLastError!(comm).map { String(cString: $0) } ?? ""
        return detail.isEmpty ? text : "\(text) (\(detail))"
    }
}
