import VLLMCompute
import VLLMModels

extension ModelRunner {
    /// One rank's persistent state on its device: its model shard, KV cache (its heads of its stage's layers),
    /// activation workspace, step-input buffer and decode graphs. Without tensor or pipeline parallelism, the one rank.
    final class Rank: @unchecked Sendable {
        // @unchecked: used by one thread at a time — its rank's thread inside `RankThreads.run`, the engine's
        // thread otherwise; `run` returns only when every rank is done.
        let model: any CausalLM
        let kvCaches: [PagedKVCache]
        let workspace: ForwardWorkspace
        let blockSize: Int
        /// Every index tensor of an eager step, uploaded at once; kept and grown, never per step.
        private var stepInputs: Tensor
        var graphs: DecodeGraphs
        /// Ranks of the first stage other than the sampling rank: where its sampled tokens arrive for the placeholders
        /// (grown as needed).
        private var receivedTokens: Tensor?

        var backend: any Backend { model.backend }

        init(model: any CausalLM, numBlocks: Int, blockSize: Int, maxNumBatchedTokens: Int, maxNumSeqs: Int, maxLogitsRows: Int,
             enforceEager: Bool) throws {
            self.model = model
            self.blockSize = blockSize
            kvCaches = try model.makeKVCaches(numBlocks: numBlocks, blockSize: blockSize)
            workspace = try model.makeWorkspace(maxNumTokens: maxNumBatchedTokens, maxNumSeqs: maxLogitsRows)
            stepInputs = try model.backend.allocate(shape: [0], dtype: .int32)
            // A pipeline stage's forward waits for the stage before: no graphs (pipeline parallelism runs on the CPU).
            graphs = DecodeGraphs(backend: model.backend, enabled: !enforceEager && model.pipelineStage.size == 1,
                                  blockSize: blockSize, maxRows: min(maxNumBatchedTokens, maxNumSeqs), maxTokens: min(maxNumBatchedTokens, maxLogitsRows))
        }

        /// Uploads the step's inputs, fills its placeholders with the tokens of the step in flight, and queues
        /// the forward (as the step's decode graph where it has one). Returns the logits [S, V] f32, or nil on a
        /// pipeline stage before the last.
        func forward(_ step: HostStepInput, pendingTokens: PendingTokens?) throws -> Tensor? {
            let (input, placeholders) = try upload(step)
            if let placeholders, let pendingTokens, let tokens = try receive(pendingTokens) {
                try backend.scatterSampledTokens(tokens, stride: pendingTokens.stride, rows: placeholders.rows,
                                                 positions: placeholders.positions, into: input.tokenIds)
            }
            guard let shape = step.graph else { return try model.forward(input, kvCaches: kvCaches, workspace: workspace) }
            let logits = try graphs.run(shape) {
                guard let logits = try model.forward(input, kvCaches: kvCaches, workspace: workspace) else {
                    throw BackendError("a decode graph of pipeline stage \(model.pipelineStage.stage), which computes no logits")
                }
                return logits
            }
            return logits.rows(0..<step.numLogitsRows)
        }

        /// The sampled tokens of the step in flight on this rank's device, for the first stage's ranks (the only ones
        /// that read token ids; nil on the others). The sampling rank — the first of the last stage — sends them to
        /// rank 0 (itself in one stage), which broadcasts them to its tensor-parallel peers; all in stream order, after
        /// the sampling.
        private func receive(_ pending: PendingTokens) throws -> Tensor? {
            let stage = model.pipelineStage, communicator = model.tensorParallel.communicator
            let isFirstRank = (communicator?.rank ?? 0) == 0
            var tokens = pending.tensor
            if let pipeline = stage.communicator {
                if stage.isLast && isFirstRank { try pipeline.send(pending.tensor, to: 0) }
                guard stage.isFirst else { return nil }
                if isFirstRank {
                    tokens = try receivedTokensBuffer(count: pending.tensor.count)
                    try pipeline.recv(tokens, from: stage.size - 1)
                }
            }
            guard let communicator else { return tokens }
            if !isFirstRank { tokens = try receivedTokensBuffer(count: pending.tensor.count) }
            try communicator.broadcast(tokens, root: 0)
            return tokens
        }

        /// The first `count` elements of `receivedTokens`, grown to hold them.
        private func receivedTokensBuffer(count: Int) throws -> Tensor {
            if let buffer = receivedTokens, buffer.count >= count { return buffer.rows(0..<count) }
            let buffer = try backend.allocate(shape: [max(count, 4096)], dtype: .int32)
            receivedTokens = buffer
            return buffer.rows(0..<count)
        }

        /// Every index tensor of the step in one upload — one copy, then views. A graph's inputs land at the
        /// same offsets every time for its shape, which fixes them (all but the pending tokens' parts, last, which
        /// only the scatter before the graph reads); eager steps share a buffer grown in powers of two, the stream
        /// ordering this step's upload after the last step's reads.
        private func upload(_ step: HostStepInput) throws -> (input: ForwardInput, placeholders: (rows: Tensor, positions: Tensor)?) {
            let values = step.values
            let packed: Tensor
            if step.graph != nil {
                packed = try graphs.inputBuffer(count: values.count)
            } else {
                if stepInputs.count < values.count {
                    var capacity = 4096
                    while capacity < values.count { capacity *= 2 }
                    stepInputs = try backend.allocate(shape: [capacity], dtype: .int32)
                }
                packed = stepInputs.rows(0..<values.count)
            }
            try backend.copy(values, into: packed)
            let views = step.parts.map { part in
                Tensor(storage: packed.storage, byteOffset: packed.byteOffset + 4 * part.offset, shape: part.shape, dtype: .int32)
            }
            let attention = AttentionMetadata(
                numTokens: step.numTokens, numSeqs: step.numSeqs, maxQueryLen: step.maxQueryLen, maxSeqLen: step.maxSeqLen,
                blockSize: blockSize, numDecodes: step.numDecodes, queryStartLoc: views[3], seqLens: views[4],
                blockTables: views[5], slotMapping: views[2], prefillQueryStartLoc: step.hasPrefills ? views[7] : nil)
            let lora = step.hasLoRA ? LoRAMapping(tokenSlots: views[8], sortedTokens: views[9], tiles: views[10]) : nil
            let input = ForwardInput(tokenIds: views[0], positions: views[1], attention: attention, logitsIndices: views[6], lora: lora)
            return (input, step.hasPlaceholders ? (views[11], views[12]) : nil)
        }
    }
}
