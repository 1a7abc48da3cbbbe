import Testing
import VLLMCompute
import VLLMCPU
@testable import VLLMEngine

/// Tensor parallelism's failures are errors, never hangs: a rank that fails before a collective its peers are
/// waiting in aborts the group, and the first failure is what the caller sees.
@Suite struct RankThreadsTests {
    struct DeliberateFailure: Error, CustomStringConvertible {
        var description: String { "rank 1 failed on purpose" }
    }

    @Test func aFailedRankEndsItsPeersCollectives() throws {
        let group = CPUCommunicator.group(size: 3)
        let backends = (0..<3).map { _ in CPUBackend(numThreads: 1) }
        let threads = RankThreads(count: 3, onFailure: { group.forEach { $0.abort() } })
        #expect {
            _ = try threads.run { rank in
                let tensor = try backends[rank].makeTensor([Float(rank)], shape: [1], dtype: .float32)
                if rank == 1 { throw DeliberateFailure() }
                try group[rank].allReduce(tensor)  // ranks 0 and 2 wait here for rank 1
            }
        } throws: { ($0 as? RankFailure)?.rank == 1 && "\($0)" == "tensor-parallel rank 1 failed: rank 1 failed on purpose" }
        // The group is spent: every later run fails with the same error, without touching a collective.
        #expect(throws: RankFailure.self) { _ = try threads.run { _ in 0 } }
    }

    @Test func collectivesGiveEveryRankTheSameValues() throws {
        let group = CPUCommunicator.group(size: 4)
        let backends = (0..<4).map { _ in CPUBackend(numThreads: 1) }
        let threads = RankThreads(count: 4)
        let results = try threads.run { rank in
            let backend = backends[rank]
            let summed = try backend.makeTensor([Float(rank), 1, 0.1 * Float(rank)], shape: [3], dtype: .float32)
            try group[rank].allReduce(summed)
            let gathered = try backend.allocate(shape: [8], dtype: .float32)
            try group[rank].allGather(try backend.makeTensor([Float(rank), -Float(rank)], shape: [2], dtype: .float32), out: gathered)
            let broadcast = try backend.makeTensor([Float(rank)], shape: [1], dtype: .float32)
            try group[rank].broadcast(broadcast, root: 2)
            return try backend.downloadFloats(summed) + backend.downloadFloats(gathered) + backend.downloadFloats(broadcast)
        }
        for values in results {
            #expect(values == [6, 4, Float(0) + 0.1 + 0.2 + Float(0.1 * 3)] + [0, 0, 1, -1, 2, -2, 3, -3] + [2])
        }
    }
}
