import Foundation
import Synchronization
import Testing
import VLLMCompute
import VLLMCore
import VLLMCPU
@testable import VLLMEngine

/// A rank that fails mid-run ends the engine clearly: the requests in flight fail with the rank's error, new
/// requests are refused naming it, the server is told (and stops), and nothing hangs.
@Suite struct TensorParallelFailureTests {
    /// A CPU communicator whose all-reduces and receives on `failingRank` throw from the `failAt`-th on.
    final class FailingCommunicator: Communicator, @unchecked Sendable {
        // @unchecked: `calls` is touched only by this rank's own thread.
        let inner: CPUCommunicator
        let failingRank: Int, failAt: Int
        var calls = 0
        init(_ inner: CPUCommunicator, failingRank: Int, failAt: Int) {
            self.inner = inner
            self.failingRank = failingRank
            self.failAt = failAt
        }
        var rank: Int { inner.rank }
        var size: Int { inner.size }
        /// Counts a call; throws from the `failAt`-th on, on `failingRank`.
        private func countCall() throws {
            calls += 1
            if rank == failingRank && calls >= failAt { throw BackendError("injected failure of the device") }
        }
        func allReduce(_ tensor: Tensor) throws {
            try countCall()
            try inner.allReduce(tensor)
        }
        func allGather(_ input: Tensor, out: Tensor) throws { try inner.allGather(input, out: out) }
        func broadcast(_ tensor: Tensor, root: Int) throws { try inner.broadcast(tensor, root: root) }
        func send(_ tensor: Tensor, to peer: Int) throws { try inner.send(tensor, to: peer) }
        func recv(_ tensor: Tensor, from peer: Int) throws {
            try countCall()
            try inner.recv(tensor, from: peer)
        }
        func abort() { inner.abort() }
    }

    @Test func aFailedRankStopsTheEngineWithItsError() async throws {
        let group = CPUCommunicator.group(size: 2)
        // The profile-free CPU path: the first steps (load needs none) run, then rank 1 fails.
        let communicators = group.map { FailingCommunicator($0, failingRank: 1, failAt: 40) }
        var args = EngineArgs()
        args.tensorParallelSize = 2
        args.maxModelLen = 256
        let devices = EngineDevices(backends: [CPUBackend(numThreads: 1), CPUBackend(numThreads: 1)], communicators: communicators)
        try await expectEngineStops(args, devices: devices, failure: "tensor-parallel rank 1 failed", told: "rank 1")
    }

    /// A pipeline stage that fails mid-run (the second stage, receiving the first's hidden states) ends the engine the
    /// same way: the first stage blocked handing it on is released, and the error names the stage.
    @Test(arguments: [true, false]) func aFailedStageStopsTheEngineWithItsError(async: Bool) async throws {
        var args = EngineArgs()
        args.pipelineParallelSize = 2
        args.maxModelLen = 256
        args.asyncScheduling = async
        let devices = EngineDevices(backends: [CPUBackend(numThreads: 1), CPUBackend(numThreads: 1)], tensorParallelSize: 1,
                                    pipelineParallelSize: 2, makeGroup: { members in
            CPUCommunicator.group(size: members.count).map { FailingCommunicator($0, failingRank: 1, failAt: 40) }
        })
        try await expectEngineStops(args, devices: devices, failure: "rank 1 (pipeline stage 1) failed", told: "pipeline stage 1")
    }

    /// Runs a request on the engine `args` build over `devices`, one of whose ranks fails mid-run: the request fails with
    /// `failure` and the injected error, the server is told (`told` in its message), new requests are refused, and
    /// nothing stays in flight.
    private func expectEngineStops(_ args: EngineArgs, devices: EngineDevices, failure: String, told: String) async throws {
        let died = Mutex<String?>(nil)
        let engine = AsyncEngine(engine: try args.build(devices: devices), detokenizer: nil,
                                 onDead: { error in died.withLock { $0 = "\(error)" } })
        defer { engine.shutdown() }
        let params = EngineParityTests.greedy(64)
        let stream = try engine.generate(requestId: "a", promptTokenIds: [1, 2, 3], params: params)
        await #expect {
            for try await _ in stream {}
        } throws: { "\($0)".contains(failure) && "\($0)".contains("injected failure") }
        #expect(died.withLock { $0 }?.contains(told) == true)
        #expect(throws: EngineUnavailableError.self) {
            _ = try engine.generate(requestId: "b", promptTokenIds: [1], params: params)
        }
        #expect(engine.numInFlight == 0)
    }
}
