import Testing
import VLLMCompute
import VLLMCore
import VLLMCPU
@testable import VLLMEngine

/// `--data-parallel-size`: engine replicas behind one router, on the CPU demo model.
@Suite struct DataParallelEngineTests {
    static func replicas(_ count: Int) throws -> [AsyncEngine] {
        try (0..<count).map { _ in
            var args = EngineArgs()
            args.maxModelLen = 512
            return AsyncEngine(engine: try args.build(backend: CPUBackend(numThreads: 1)), detokenizer: nil)
        }
    }

    @Test func requestsSpreadOverReplicasAndAllFinish() async throws {
        let replicas = try Self.replicas(2)
        let engine = DataParallelEngine(replicas: replicas)
        defer { engine.shutdown() }
        // Long enough that none can finish while the others are submitted, even on a loaded machine (12 tokens could:
        // CI saw [3, 4]).
        let streams = try (0..<8).map { i in
            try engine.generate(requestId: "r\(i)", promptTokenIds: [1, 5 + i, 7], params: EngineParityTests.greedy(400))
        }
        // Submitted at once: the load each replica counts is exact at submission, so they split 4 / 4.
        #expect(replicas.map(\.numInFlight) == [4, 4])
        for stream in streams {
            var last: RequestOutput?
            for try await output in stream { last = output }
            #expect(last?.outputs[0].tokenIds.count == 400)
        }
        // Every request has left both replicas (their own counts: the published stats lag a step behind).
        #expect(replicas.map(\.numInFlight) == [0, 0])
        #expect(engine.replicaStats().count == 2)
    }

    @Test func aSharedPromptPrefixStaysOnOneReplica() throws {
        let engine = DataParallelEngine(replicas: try Self.replicas(3))
        defer { engine.shutdown() }
        let system = Array(repeating: 9, count: DataParallelEngine.affinityTokens)
        let first = engine.replica(for: system + [1, 2])
        for question in 0..<6 { #expect(engine.replica(for: system + [question]) == first) }
        // Short prompts carry no affinity: taken in turn while loads are equal.
        #expect(Set((0..<3).map { engine.replica(for: [$0]) }).count == 3)
    }

    @Test func abortsReachTheReplicaHoldingTheRequest() async throws {
        let replicas = try Self.replicas(2)
        let engine = DataParallelEngine(replicas: replicas)
        defer { engine.shutdown() }
        let stream = try engine.generate(requestId: "long", promptTokenIds: [1, 2, 3], params: EngineParityTests.greedy(400))
        engine.abort(requestId: "long")
        var reason: FinishReason?
        for try await output in stream { reason = output.outputs[0].finishReason }
        #expect(reason == .abort)
        #expect(replicas.map(\.numInFlight) == [0, 0])
    }
}
