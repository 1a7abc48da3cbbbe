import Foundation
import Testing
import VLLMCompute
import VLLMCPU
@testable import VLLMEngine
import VLLMModels

/// A decode graph reads its inputs where it recorded them: every part the graph reads keeps its offset and shape for
/// the graph's shape, whatever else changes between its steps — how many sequences are real, how many wait for the
/// step in flight's token, which adapters they run.
@Suite struct HostStepInputTests {
    @Test(arguments: [false, true]) func aGraphsInputsKeepTheirOffsets(lora: Bool) throws {
        let folder = EngineParityTests.goldens.appendingPathComponent("llama")
        let model = try ModelRegistry.load(directory: folder, backend: CPUBackend(numThreads: 1),
                                           lora: lora ? LoRACapacity(maxLoras: 2, maxRank: 16) : nil)
        let runner = try ModelRunner(model: model, numBlocks: 64, blockSize: 4, maxNumBatchedTokens: 64, maxNumSeqs: 16)
        let shape = DecodeGraphShape(rows: 8, tableWidth: 4)
        func step(_ count: Int, pending: Int) throws -> HostStepInput {
            try runner.makeHostInput((0..<count).map { s in
                StepSequence(tokenIds: [s < pending ? -1 : 5], numComputedTokens: 3 + s, blockIds: [Int32(3 * s), Int32(3 * s + 1), Int32(3 * s + 2)],
                             sampling: SamplingRow(), pendingSourceRow: s < pending ? s : nil,
                             loraSlot: lora ? [nil, 0, 1][s % 3] : nil)
            }, graph: shape)
        }
        let first = try step(5, pending: 0)
        for (count, pending) in [(8, 8), (6, 2), (5, 5)] {
            let other = try step(count, pending: pending)
            #expect(other.hasPlaceholders == (pending > 0) && other.hasLoRA == lora)
            for index in 0...10 {
                #expect(other.parts[index].offset == first.parts[index].offset && other.parts[index].shape == first.parts[index].shape,
                        "part \(index) moved: \(count) sequences, \(pending) pending")
            }
        }
    }
}
