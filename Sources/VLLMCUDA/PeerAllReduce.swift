import CCUDA
import FoundationEssentials
import VLLMCompute

/// The all-reduce of small messages (a decode step's hidden states) over peer memory, one kernel a call
/// (Kernels/allreduce.cu): the GPUs of this process read each other's staging buffers over NVLink, where NCCL
/// would take a round of its own protocol. Larger messages (prefill chunks) stay with NCCL, whose bandwidth
/// is what counts there. `NCCLCommunicator` picks; `SWIFT_VLLM_ALLREDUCE=nccl` sends everything to NCCL.
final class PeerAllReduce: @unchecked Sendable {
    // @unchecked: immutable after init; the kernel's flags and counters order the ranks on the device.
    static let maxRanks = 8, maxBlocks = 64, threads = 512
    /// Bytes of one half of a staging buffer: the largest message taken (a 512-token step of a 4096-wide
    /// model in bf16).
    static let capacityBytes = 4 << 20
    static let isEnabled = ProcessInfo.processInfo.environment["SWIFT_VLLM_ALLREDUCE"] != "nccl"

    let backend: CUDABackend
    let rank: Int, world: Int
    /// This rank's table: every rank's staging and flags addresses, its own counters, the capacity in vectors.
    private let table: Tensor
    /// Kept alive for the peers that read them.
    private let buffers: [Tensor]

    private init(backend: CUDABackend, rank: Int, world: Int, table: Tensor, buffers: [Tensor]) {
        self.backend = backend
        self.rank = rank
        self.world = world
        self.table = table
        self.buffers = buffers
    }

    /// One per backend, in order; nil where some pair of GPUs cannot reach each other's memory (no peer access).
    static func group(backends: [CUDABackend]) throws -> [PeerAllReduce]? {
        guard isEnabled, backends.count > 1, backends.count <= maxRanks else { return nil }
        for a in backends {
            for b in backends where a !== b {
                var can: Int32 = 0
                try a.check(a.driver.cuDeviceCanAccessPeer!(&can, a.context.device, b.context.device), "cuDeviceCanAccessPeer")
                if can == 0 { return nil }
            }
        }
        for a in backends {
            try a.context.makeCurrent()
            for b in backends where a !== b {
                let result = a.driver.cuCtxEnablePeerAccess!(b.context.context, 0)
                if result != 0 && result != 704 {  // 704: CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED
                    try a.check(result, "cuCtxEnablePeerAccess(\(a.name) → \(b.name))")
                }
            }
        }
        let buffers = try backends.map { backend -> (staging: Tensor, flags: Tensor, counters: Tensor) in
            let staging = try backend.allocate(shape: [2 * capacityBytes / 4], dtype: .int32)
            let flags = try backend.makeInt32([Int32](repeating: 0, count: maxBlocks * maxRanks))
            let counters = try backend.makeInt32([Int32](repeating: 0, count: maxBlocks))
            return (staging, flags, counters)
        }
        return try backends.enumerated().map { rank, backend in
            var words = [UInt64](repeating: 0, count: 2 * maxRanks + 2)
            for (r, buffer) in buffers.enumerated() {
                words[r] = UInt64(buffer.staging.address)
                words[maxRanks + r] = UInt64(buffer.flags.address)
            }
            words[2 * maxRanks] = UInt64(buffers[rank].counters.address)
            words[2 * maxRanks + 1] = UInt64(capacityBytes / 16)
            let table = try words.withUnsafeBytes { try backend.upload($0, sourceDType: .int32, shape: [words.count * 2], dtype: .int32) }
            try backend.synchronize()
            return PeerAllReduce(backend: backend, rank: rank, world: backends.count, table: table,
                                 buffers: [buffers[rank].staging, buffers[rank].flags, buffers[rank].counters])
        }
    }

    /// Whether this path takes `tensor`: bf16 or f32, whole 16-byte vectors, at most `capacityBytes`.
    func takes(_ tensor: Tensor) -> Bool {
        (tensor.dtype == .bfloat16 || tensor.dtype == .float32) && tensor.byteCount % 16 == 0 && tensor.byteCount <= Self.capacityBytes
            && tensor.address % 16 == 0 && tensor.count > 0
    }

    /// Sums `tensor` over the ranks in place; every rank must call it for the same message, in the same order.
    func allReduce(_ tensor: Tensor) throws {
        let vectors = tensor.byteCount / 16
        let blocks = min(Self.maxBlocks, (vectors + Self.threads - 1) / Self.threads)
        try backend.launch("allreduce_oneshot_\(tensor.dtype == .float32 ? "f32" : "bf16")", in: "allreduce",
                           grid: (blocks, 1, 1), block: (Self.threads, 1, 1),
                           [tensor.device, .int64(Int64(vectors)), table.device, .int32(Int32(rank)), .int32(Int32(world))])
    }
}
