import Testing
import VLLMCompute
import VLLMCPU
@testable import VLLMEngine

/// Tensor and pipeline parallelism's failures are errors, never hangs: a rank that fails before a collective (or a
/// transfer) its peers are waiting in aborts the group, and the first failure is what the caller sees.
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

    /// Pipeline stages: a stage that fails ends the stage blocked sending to it and the one blocked receiving from it.
    @Test func aFailedStageEndsItsPeersTransfers() throws {
        let group = CPUCommunicator.group(size: 3)
        let backends = (0..<3).map { _ in CPUBackend(numThreads: 1) }
        let threads = RankThreads(count: 3, rankName: RankThreads.rankName(tensorParallelSize: 1, pipelineParallelSize: 3),
                                  onFailure: { group.forEach { $0.abort() } })
        #expect {
            _ = try threads.run { rank in
                let tensor = try backends[rank].makeTensor([Float(rank)], shape: [1], dtype: .float32)
                switch rank {
                case 0: try group[0].send(tensor, to: 1)  // stage 1 never takes it
                case 1: throw DeliberateFailure()
                default: try group[2].recv(tensor, from: 1)  // stage 1 never sends
                }
            }
        } throws: { ($0 as? RankFailure)?.rank == 1 && "\($0)" == "rank 1 (pipeline stage 1) failed: rank 1 failed on purpose" }
        #expect(throws: RankFailure.self) { _ = try threads.run { _ in 0 } }
    }

    /// Sends arrive in order, whole, each into its receiver's own tensor.
    @Test func sendsArriveInOrder() throws {
        let group = CPUCommunicator.group(size: 3)
        let backends = (0..<3).map { _ in CPUBackend(numThreads: 1) }
        let results = try RankThreads(count: 3).run { rank -> [Float] in
            let backend = backends[rank]
            switch rank {
            case 0:
                try group[0].send(try backend.makeTensor([1, 2], shape: [2], dtype: .float32), to: 1)
                try group[0].send(try backend.makeTensor([3, 4], shape: [2], dtype: .float32), to: 1)
                return []
            case 1:
                let (first, second) = (try backend.allocate(shape: [2], dtype: .float32), try backend.allocate(shape: [2], dtype: .float32))
                try group[1].recv(first, from: 0)
                try group[1].recv(second, from: 0)
                try group[1].send(second, to: 2)
                return try backend.downloadFloats(first) + backend.downloadFloats(second)
            default:
                let received = try backend.allocate(shape: [2], dtype: .float32)
                try group[2].recv(received, from: 1)
                return try backend.downloadFloats(received)
            }
        }
        #expect(results == [[], [1, 2, 3, 4], [3, 4]])
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
