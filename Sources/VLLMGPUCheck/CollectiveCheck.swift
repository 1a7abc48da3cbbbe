import VLLMCompute
import VLLMCUDA
import VLLMEngine

/// `check-gpu --collectives N`: tensor parallelism's collectives on N GPUs (NCCL, and the one-kernel peer-memory
/// all-reduce for small messages) against the sums the host computes from the same inputs, in rank order.
/// Each size is reduced several times in a row with new inputs, so the peer path's alternating staging halves
/// and its epoch counters are exercised too.
public enum CollectiveCheck {
    public static func run(backends: [CUDABackend], seed: UInt64) throws -> [OpCheckResult] {
        let communicators = try NCCLCommunicator.group(backends: backends)
        // Each rank's NCCL calls from a thread of its own, as the engine issues them; a failing rank aborts the group.
        let threads = RankThreads(count: backends.count, onFailure: { communicators.forEach { $0.abort() } })
        print("collectives on \(backends.count) GPUs: NCCL \(communicators[0].version); \(communicators[0].allReducePaths)")
        var random = CheckRandom(seed: seed)
        var results: [OpCheckResult] = []
        for dtype in [DType.bfloat16, .float32] {
            // One decode token of a 4096-wide model, a batch of 8 and of 256 (peer path), 2048 tokens (NCCL), an odd size.
            for count in [4096, 8 * 4096, 256 * 4096, 2048 * 4096, 35] {
                var worst: Float = 0
                for _ in 0..<3 {
                    let inputs = (0..<backends.count).map { _ in (0..<count).map { _ in dtype.rounded(random.normal()) } }
                    var expected = [Float](repeating: 0, count: count)
                    for input in inputs { for i in 0..<count { expected[i] += input[i] } }
                    expected = expected.map { dtype.rounded($0) }
                    let outputs = try threads.run { rank in
                        let tensor = try backends[rank].makeTensor(inputs[rank], shape: [count], dtype: dtype)
                        try communicators[rank].allReduce(tensor)
                        return try backends[rank].downloadFloats(tensor)
                    }
                    for output in outputs { worst = max(worst, relativeError(output, expected)) }
                }
                results.append(OpCheckResult(op: "allReduce", shape: "\(backends.count) ranks × \(count) \(dtype)", error: worst, tolerance: 0,
                                             note: count * dtype.size <= 4 << 20 && count % (16 / dtype.size) == 0 ? "peer memory" : "NCCL"))
            }
        }
        // The lm_head's gather and the tokens in flight's broadcast: exact copies.
        let count = 3 * 1000
        let inputs = (0..<backends.count).map { rank in (0..<count).map { Float(rank * count + $0) } }
        let gathered = try threads.run { rank in
            let out = try backends[rank].allocate(shape: [backends.count * count], dtype: .float32)
            try communicators[rank].allGather(try backends[rank].makeTensor(inputs[rank], shape: [count], dtype: .float32), out: out)
            return try backends[rank].downloadFloats(out)
        }
        results.append(OpCheckResult(op: "allGather", shape: "\(backends.count) ranks × \(count) float32",
                                     error: gathered.map { relativeError($0, inputs.flatMap { $0 }) }.max()!, tolerance: 0))
        let tokens = try threads.run { rank in
            let tensor = try backends[rank].makeInt32((0..<Int32(777)).map { rank == 0 ? $0 : -1 })
            try communicators[rank].broadcast(tensor, root: 0)
            return try backends[rank].downloadInt32(tensor)
        }
        results.append(OpCheckResult(op: "broadcast", shape: "\(backends.count) ranks × 777 int32",
                                     error: tokens.allSatisfy { $0 == Array(0..<777) } ? 0 : 1, tolerance: 0))
        return results
    }
}
