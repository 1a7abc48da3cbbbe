import VLLMCompute
import VLLMModels

/// One sequence's share of a step: the tokens it feeds now and where its K/V lives.
public struct StepSequence: Sendable {
    /// Tokens fed this step: a prefill chunk, or the one token of a decode.
    public var tokenIds: [Int32]
    /// Tokens of this sequence already in the KV cache (they come first in its context).
    public var numComputedTokens: Int
    /// Physical KV blocks of the whole sequence, in order; must cover `numComputedTokens + tokenIds.count`.
    public var blockIds: [Int32]
    /// How to sample its next token; `nil` when this step does not finish its prompt (no logits wanted).
    public var sampling: SamplingRow?
    /// Prompt logprobs: `targets[j]` is the prompt token that follows fed token `j` (for the first
    /// `targets.count` fed tokens); `topK` alternatives are returned with each.
    public var promptLogprobs: (targets: [Int32], topK: Int)?
    /// Async scheduling: the last fed token is the one the step before samples in this row of its
    /// sampling (its id in `tokenIds` is a placeholder, filled on the device).
    public var pendingSourceRow: Int?
    /// With `sampling`: how many of its last fed tokens are sampled — 1, or 1 + d when it verifies d draft
    /// tokens (speculative decoding); row i samples with `sampling.step + i`.
    public var numSampledRows: Int
    /// The model's adapter slot its tokens read (multi-LoRA); nil for the base model.
    public var loraSlot: Int?

    public init(tokenIds: [Int32], numComputedTokens: Int, blockIds: [Int32], sampling: SamplingRow?,
                promptLogprobs: (targets: [Int32], topK: Int)? = nil, pendingSourceRow: Int? = nil, numSampledRows: Int = 1,
                loraSlot: Int? = nil) {
        self.loraSlot = loraSlot
        self.pendingSourceRow = pendingSourceRow
        self.numSampledRows = numSampledRows
        self.tokenIds = tokenIds
        self.numComputedTokens = numComputedTokens
        self.blockIds = blockIds
        self.sampling = sampling
        self.promptLogprobs = promptLogprobs
    }
}

/// Turns a step's sequences into flat model inputs — token ids, positions, slot mapping, block
/// tables, query start offsets, sequence lengths — runs the model and samples on its backend.
/// Owns the KV cache and the activation workspace for its whole life (persistent state), and
/// rebuilds only the per-step index tensors.
///
/// Under tensor parallelism (`--tensor-parallel-size`) it drives every rank: the step's inputs are built on
/// the host once and each rank (its thread, `RankThreads`) uploads them to its GPU and runs its shard of the
/// forward; the shards' collectives leave rank 0 with the whole logits, and rank 0 samples. Under pipeline
/// parallelism (`--pipeline-parallel-size`) the ranks are TP × PP, rank g = stage · TP + tensor-parallel rank (vLLM's
/// order): every rank runs the step at once, each stage waiting for the hidden states of the stage before, and the
/// first rank of the last stage — the sampling rank — holds the logits and samples.
public final class ModelRunner: @unchecked Sendable {
    // @unchecked: driven by one thread at a time (the engine loop); nothing in it is shared.
    public let blockSize: Int
    public let numBlocks: Int
    public let maxNumBatchedTokens: Int
    public let maxNumSeqs: Int
    /// Every rank's model shard and device state (one rank without tensor or pipeline parallelism), in rank order.
    let ranks: [Rank]
    let threads: RankThreads
    /// The rank that computes the logits and samples: the first of the last pipeline stage (rank 0 in one stage).
    let samplingRank: Int
    /// Adapters and their slots, where the model was loaded with LoRA slots.
    public let loras: LoRAManager?
    /// Host time of the steps run so far: `prepare`, `launch` and `wait` (the engine adds the rest).
    public internal(set) var timings = StepTimings()

    /// The sampling rank's model (the whole model without tensor or pipeline parallelism), on the backend that samples.
    public var model: any CausalLM { ranks[samplingRank].model }
    /// Rank 0's KV cache, one per layer it holds.
    public var kvCaches: [PagedKVCache] { ranks[0].kvCaches }
    var workspace: ForwardWorkspace { ranks[0].workspace }
    /// Pure decode steps as CUDA graphs (DecodeGraphs.swift); off with `enforceEager` or on the CPU. Rank 0's;
    /// every rank records its own, for the same shapes.
    var graphs: DecodeGraphs {
        get { ranks[0].graphs }
        set { ranks[0].graphs = newValue }
    }

    /// - Parameter enforceEager: vLLM's `--enforce-eager`: every step launches its kernels one by one, no
    ///   decode step runs as a recorded graph.
    public convenience init(model: any CausalLM, numBlocks: Int, blockSize: Int, maxNumBatchedTokens: Int, maxNumSeqs: Int,
                            enforceEager: Bool = false) throws {
        try self.init(models: [model], numBlocks: numBlocks, blockSize: blockSize, maxNumBatchedTokens: maxNumBatchedTokens,
                      maxNumSeqs: maxNumSeqs, enforceEager: enforceEager)
    }

    /// - Parameters:
    ///   - models: one per rank, in rank order: stage by stage (their `pipelineStage`s 0 ..< PP), each stage's
    ///     tensor-parallel ranks 0 ..< TP in order.
    ///   - maxLogitsRows: rows a step may sample (default `maxNumSeqs`; more when steps verify draft tokens).
    ///   - maxCPULoras: adapters kept read on the host (`--max-cpu-loras`; default: the model's slots).
    public init(models: [any CausalLM], numBlocks: Int, blockSize: Int, maxNumBatchedTokens: Int, maxNumSeqs: Int,
                maxLogitsRows: Int? = nil, enforceEager: Bool = false, maxCPULoras: Int? = nil) throws {
        let tensorParallelSize = models.first?.tensorParallel.size ?? 1
        precondition(!models.isEmpty && models.enumerated().allSatisfy { rank, model in
            model.tensorParallel.rank == rank % tensorParallelSize && model.pipelineStage.stage == rank / tensorParallelSize
        }, "ModelRunner: models must be ranks 0 ..< \(models.count) in order, stage by stage")
        samplingRank = models.count - tensorParallelSize
        self.blockSize = blockSize
        self.numBlocks = numBlocks
        self.maxNumBatchedTokens = maxNumBatchedTokens
        self.maxNumSeqs = maxNumSeqs
        loras = models[0].loraCapacity.map {
            LoRAManager(capacity: $0, maxCPULoras: maxCPULoras ?? $0.maxLoras, config: models[0].config)
        }
        let communicators = models.compactMap(\.tensorParallel.communicator) + models.compactMap(\.pipelineStage.communicator)
        let name = RankThreads.rankName(tensorParallelSize: tensorParallelSize,
                                        pipelineParallelSize: models.count / tensorParallelSize)
        threads = RankThreads(count: models.count, rankName: name,
                              onFailure: { for communicator in communicators { communicator.abort() } })
        ranks = try threads.run { rank in
            try Rank(model: models[rank], numBlocks: numBlocks, blockSize: blockSize, maxNumBatchedTokens: maxNumBatchedTokens,
                     maxNumSeqs: maxNumSeqs, maxLogitsRows: maxLogitsRows ?? maxNumSeqs, enforceEager: enforceEager)
        }
    }

    /// GPU time per kind of step and the idle gaps between steps, once `startStepGPUTimes` turned it on.
    private var gpuTimes: StepGPUTimes?

    /// Starts timing every step on the device (a backend that can: `DeviceTiming`); read by `stepGPUTimes`.
    public func startStepGPUTimes() {
        if model.backend is any DeviceTiming { gpuTimes = StepGPUTimes() }
    }

    /// The GPU times of the steps since `startStepGPUTimes` (waiting for the device first), or nil.
    public func stepGPUTimes() throws -> StepGPUTimes? {
        guard gpuTimes != nil else { return nil }
        try model.backend.synchronize()
        try gpuTimes?.settle(all: true)
        return gpuTimes
    }

    /// Decode graphs recorded so far, and the host seconds recording them took.
    public var decodeGraphStats: (count: Int, captureSeconds: Double, disabledReason: String?) {
        (graphs.count, graphs.captureSeconds, graphs.disabledReason)
    }

    /// Runs one step and samples a token for every sequence that asks for one (in order).
    public func execute(_ sequences: [StepSequence]) throws -> SamplerOutput {
        try executeWithPromptLogprobs(sequences).sampled
    }

    /// Runs one step: the sampled tokens, and per sequence that asked, the logprobs of its prompt
    /// tokens fed this step (`targets` order).
    public func executeWithPromptLogprobs(_ sequences: [StepSequence]) throws
        -> (sampled: SamplerOutput, promptLogprobs: [Int: [TokenLogprobs]]) {
        try wait(launch(sequences))
    }

    /// A step whose forward and sampling are queued on the backend; `wait(_:)` collects it.
    public struct LaunchedStep: Sendable {
        let sequences: [StepSequence]
        let sample: PendingSample?
    }

    /// A step whose forward is queued and whose sampling is not yet (`launchSampling`): structured
    /// outputs launch the forward ahead and sample once their masks know the step before's tokens.
    public struct ForwardedStep: Sendable {
        let sequences: [StepSequence]
        let logits: Tensor
        /// Where the step starts in the backend's queue, when GPU times are taken.
        var started: (any DeviceTimestamp)?
    }

    /// Queues one step — inputs up, forward, sampling — and returns without waiting for the device, so
    /// the host can do other work while it runs. `after`: the step still in flight whose sampled tokens
    /// feed this one's placeholders (`StepSequence.pendingSourceRow`); wait for it before the next launch.
    public func launch(_ sequences: [StepSequence], after previous: LaunchedStep? = nil) throws -> LaunchedStep {
        guard !sequences.isEmpty else { return LaunchedStep(sequences: [], sample: nil) }
        return try launchSampling(launchForward(sequences, after: previous))
    }

    /// Queues a step's inputs and forward (its logits stay in the workspace until `launchSampling`; launch
    /// nothing else in between).
    public func launchForward(_ sequences: [StepSequence], after previous: LaunchedStep? = nil) throws -> ForwardedStep {
        let started = gpuTimes == nil ? nil : try (model.backend as? any DeviceTiming)?.markTime()
        return ForwardedStep(sequences: sequences, logits: try forward(sequences, pendingTokens: previous?.sample?.tokens),
                             started: started)
    }

    /// Queues a forwarded step's sampling, its sequences' grammar masks (`Backend.applyTokenBitmask`'s
    /// layout, by sequence index) applied first.
    public func launchSampling(_ step: ForwardedStep, masks: [Int: [UInt32]] = [:]) throws -> LaunchedStep {
        let start = monotonicSeconds()
        defer { timings.launch += monotonicSeconds() - start }
        var rows: [SamplingRow] = []
        var maskedRows: [Int32] = []
        var maskWords: [UInt32] = []
        for (index, sequence) in step.sequences.enumerated() {
            guard let row = sequence.sampling else { continue }
            if let mask = masks[index] {
                guard sequence.numSampledRows == 1 else {
                    throw BackendError("sequence \(index): a grammar mask for a step that verifies draft tokens")
                }
                maskedRows.append(Int32(rows.count))
                maskWords += mask
            }
            for i in 0..<sequence.numSampledRows {
                var draftRow = row
                draftRow.step += i
                rows.append(draftRow)
            }
        }
        if !maskedRows.isEmpty {
            try model.backend.applyTokenBitmask(logits: step.logits, rows: maskedRows, masks: maskWords)
        }
        let sample = rows.isEmpty ? nil : try model.backend.launchSample(logits: step.logits, rows: rows)
        if let started = step.started, let end = try (model.backend as? any DeviceTiming)?.markTime() {
            gpuTimes?.add(.init(kind: StepGPUTimes.kind(step.sequences), tokens: step.sequences.reduce(0) { $0 + $1.tokenIds.count },
                                start: started, end: end))
        }
        return LaunchedStep(sequences: step.sequences, sample: sample)
    }

    /// Waits for a launched step: its sampled tokens (`numSampledRows` per sequence with `sampling`, in order) and
    /// the prompt logprobs asked for.
    public func wait(_ step: LaunchedStep) throws -> (sampled: SamplerOutput, promptLogprobs: [Int: [TokenLogprobs]]) {
        let start = monotonicSeconds()
        defer { timings.wait += monotonicSeconds() - start }
        let sampled = try step.sample?.wait() ?? SamplerOutput(tokenIds: [], logprobs: [])
        try gpuTimes?.settle()
        return (sampled, try promptLogprobs(step.sequences))
    }

    /// Logits of the prompt rows asked for, in slices the workspace holds, reduced on the host.
    func promptLogprobs(_ sequences: [StepSequence]) throws -> [Int: [TokenLogprobs]] {
        var wanted: [(seq: Int, row: Int32, target: Int, topK: Int)] = []
        var start = 0
        for (s, seq) in sequences.enumerated() {
            if let spec = seq.promptLogprobs {
                for (j, target) in spec.targets.enumerated() { wanted.append((s, Int32(start + j), Int(target), spec.topK)) }
            }
            start += seq.tokenIds.count
        }
        var result: [Int: [TokenLogprobs]] = [:]
        try forEachLogitsRow(wanted.map(\.row)) { i, row in
            let item = wanted[i]
            result[item.seq, default: []].append(TokenLogprobs(rawLogits: Array(row), token: item.target, numTop: item.topK))
        }
        return result
    }

    /// The last forward's logits of `rows` (indices into its tokens), computed in slices the workspace
    /// holds and handed to `body` one row at a time (index into `rows`, f32 values), so at most one
    /// slice of rows is on the host at once.
    func forEachLogitsRow(_ rows: [Int32], _ body: (Int, ArraySlice<Float>) throws -> Void) throws {
        var offset = 0
        while offset < rows.count {
            let slice = Array(rows[offset..<min(offset + maxNumSeqs, rows.count)])
            let ranks = self.ranks
            // The last stage's ranks only: they hold the final hidden states and the lm_head (shards of it, gathered).
            let results = try threads.run { rank -> Tensor? in
                guard ranks[rank].model.pipelineStage.isLast else { return nil }
                return try ranks[rank].model.logits(rows: try ranks[rank].backend.makeInt32(slice), workspace: ranks[rank].workspace)
            }
            guard let logits = results[samplingRank] else {
                throw BackendError("the sampling rank \(samplingRank) returned no logits")
            }
            let values = try model.backend.downloadFloats(logits)
            let vocab = logits.shape[1]
            for i in slice.indices { try body(offset + i, values[(i * vocab)..<((i + 1) * vocab)]) }
            offset += slice.count
        }
    }

    /// Runs one step and returns the logits [S, V] (f32, host) of the sequences that have `sampling`.
    public func logits(_ sequences: [StepSequence]) throws -> [[Float]] {
        let logits = try forward(sequences)
        let flat = try model.backend.downloadFloats(logits)
        let vocab = logits.shape[1]
        return (0..<logits.shape[0]).map { Array(flat[($0 * vocab)..<(($0 + 1) * vocab)]) }
    }

    /// Runs one step and returns the logits [T, V] (f32, host) of every token it feeds, in order (the
    /// rows the prompt-logprobs path reads), computed in slices the workspace holds.
    public func logitsOfEveryToken(_ sequences: [StepSequence]) throws -> [[Float]] {
        _ = try forward(sequences)
        let count = sequences.reduce(0) { $0 + $1.tokenIds.count }
        var rows: [[Float]] = []
        try forEachLogitsRow(Array(0..<Int32(count))) { _, row in rows.append(Array(row)) }
        return rows
    }

    func forward(_ sequences: [StepSequence], pendingTokens: (tensor: Tensor, stride: Int)? = nil) throws -> Tensor {
        let start = monotonicSeconds()
        let step = try makeHostInput(sequences, graph: graphs.shape(for: sequences))
        let pending = pendingTokens.map { PendingTokens(tensor: $0.tensor, stride: $0.stride) }
        if step.hasPlaceholders && pending == nil {
            throw BackendError("a step with pending tokens but no step in flight to take them from")
        }
        let prepared = monotonicSeconds()
        defer {
            let end = monotonicSeconds()
            timings.prepare += prepared - start
            timings.launch += end - prepared
        }
        let ranks = self.ranks
        guard let logits = try threads.run({ rank in try ranks[rank].forward(step, pendingTokens: pending) })[samplingRank] else {
            throw BackendError("the sampling rank \(samplingRank) returned no logits")
        }
        return logits
    }

    /// The flat step inputs, on the host; every index is checked here, once, so kernels can trust them.
    /// `graph`: a decode (or uniform verify) step padded to a recorded graph's shape — rows past the step's sequences
    /// feed token 0 at positions 0 ..< queryLen with a context of as many keys and write no K/V (slot −1); their outputs
    /// are never sampled.
    func makeHostInput(_ sequences: [StepSequence], graph shape: DecodeGraphShape? = nil) throws -> HostStepInput {
        let numTokens = sequences.reduce(0) { $0 + $1.tokenIds.count }
        guard numTokens > 0, numTokens <= maxNumBatchedTokens, sequences.count <= maxNumSeqs else {
            throw BackendError("step of \(numTokens) tokens in \(sequences.count) sequences; limits are 1…\(maxNumBatchedTokens) tokens and \(maxNumSeqs) sequences")
        }
        let blockTable = BlockTable(blockSize: blockSize, rows: sequences.map(\.blockIds))
        var tokenIds: [Int32] = [], positions: [Int32] = [], slots: [Int32] = []
        var queryStart: [Int32] = [0], seqLens: [Int32] = [], logitsIndices: [Int32] = []
        var pendingRows: [Int32] = [], pendingPositions: [Int32] = [], loraSlots: [Int32] = []
        tokenIds.reserveCapacity(shape?.rows ?? numTokens)
        for (s, seq) in sequences.enumerated() {
            let seqLen = seq.numComputedTokens + seq.tokenIds.count
            guard !seq.tokenIds.isEmpty, seq.blockIds.count >= blockTable.numBlocks(forTokens: seqLen) else {
                throw BackendError("sequence \(s): \(seqLen) tokens need \(blockTable.numBlocks(forTokens: seqLen)) blocks, got \(seq.blockIds.count)")
            }
            guard seq.blockIds.allSatisfy({ $0 >= 0 && Int($0) < numBlocks }) else {
                throw BackendError("sequence \(s): block ids outside the cache's \(numBlocks) blocks")
            }
            for (j, token) in seq.tokenIds.enumerated() {
                let position = seq.numComputedTokens + j
                if token < 0 {
                    guard j == seq.tokenIds.count - 1, let row = seq.pendingSourceRow else {
                        throw BackendError("sequence \(s): token \(token) at position \(position) is not a pending last token")
                    }
                    pendingRows.append(Int32(row))
                    pendingPositions.append(Int32(tokenIds.count))
                }
                tokenIds.append(token)
                positions.append(Int32(position))
                slots.append(blockTable.slot(sequence: s, position: position))
            }
            if let capacity = model.loraCapacity {
                let slot = seq.loraSlot ?? -1
                guard slot < capacity.maxLoras else { throw BackendError("sequence \(s): LoRA slot \(slot) of \(capacity.maxLoras)") }
                loraSlots += Array(repeating: Int32(slot), count: seq.tokenIds.count)
            } else if seq.loraSlot != nil {
                throw BackendError("sequence \(s): a LoRA slot, but the model was loaded without LoRA")
            }
            queryStart.append(Int32(tokenIds.count))
            seqLens.append(Int32(seqLen))
            if seq.sampling != nil {
                guard (1...seq.tokenIds.count).contains(seq.numSampledRows) else {
                    throw BackendError("sequence \(s): \(seq.numSampledRows) sampled rows of \(seq.tokenIds.count) fed tokens")
                }
                for i in stride(from: seq.numSampledRows, to: 0, by: -1) { logitsIndices.append(Int32(tokenIds.count - i)) }
            }
        }
        var maxSeqLen = Int(seqLens.max()!)
        let numLogitsRows = logitsIndices.count
        if let shape {
            let queryLen = shape.queryLen
            guard numTokens == sequences.count * queryLen, logitsIndices.count == numTokens, shape.rows >= sequences.count,
                  maxSeqLen <= shape.tableWidth * blockSize else {
                throw BackendError("a step of \(sequences.count) sequences, \(numTokens) tokens, does not fit decode graph \(shape)")
            }
            for _ in sequences.count..<shape.rows {
                for position in 0..<queryLen {
                    logitsIndices.append(Int32(tokenIds.count))
                    tokenIds.append(0)
                    positions.append(Int32(position))
                    slots.append(-1)
                    if model.loraCapacity != nil { loraSlots.append(-1) }
                }
                queryStart.append(Int32(tokenIds.count))
                seqLens.append(Int32(queryLen))
            }
            maxSeqLen = shape.tableWidth * blockSize
        }
        let tables = blockTable.padded(width: shape?.tableWidth, numRows: shape?.rows)
        if logitsIndices.isEmpty { logitsIndices = [Int32(numTokens - 1)] }
        let (numDecodes, prefillQueryStart) = AttentionMetadata.decodeSplit(queryStart: queryStart)
        var lora: [(values: [Int32], shape: [Int])] = [([], [0]), ([], [0]), ([], [0, 3])]
        if let capacity = model.loraCapacity {
            let maxTiles = LoRAMapping.maxTiles(numTokens: loraSlots.count, maxSlots: capacity.maxLoras)
            let (sorted, tiles) = LoRAMapping.arrays(tokenSlots: loraSlots, maxTiles: maxTiles)
            lora = [(loraSlots, [loraSlots.count]), (sorted, [sorted.count]), (tiles, [maxTiles, 3])]
        }
        // The pending tokens' parts come last: their length changes between steps of one decode graph's shape,
        // and every part before them keeps its offset for the shape (the graph reads them where it recorded them).
        return HostStepInput(
            [
                (tokenIds, [tokenIds.count]), (positions, [positions.count]), (slots, [slots.count]),
                (queryStart, [queryStart.count]), (seqLens, [seqLens.count]), tables, (logitsIndices, [logitsIndices.count]),
                (prefillQueryStart ?? [], [prefillQueryStart?.count ?? 0]),
            ] + lora + [(pendingRows, [pendingRows.count]), (pendingPositions, [pendingPositions.count])],
            // An eager step none of whose tokens has an adapter skips the LoRA kernels; a graph always runs them.
            hasLoRA: model.loraCapacity != nil && (shape != nil || loraSlots.contains { $0 >= 0 }),
            numLogitsRows: numLogitsRows, numTokens: tokenIds.count, numSeqs: seqLens.count, maxQueryLen: sequences.map(\.tokenIds.count).max()!,
            maxSeqLen: maxSeqLen, numDecodes: numDecodes, hasPrefills: prefillQueryStart != nil, graph: shape)
    }
}

/// A step's inputs built on the host, once for every rank (`ModelRunner.makeHostInput`): every index tensor
/// as one int32 array of consecutive parts — token ids, positions, slot mapping, query start offsets,
/// sequence lengths, block tables, logits rows, the prefills' query starts, the `LoRAMapping`'s three (empty
/// without LoRA slots), and where the tokens of the step in flight go (rows of its sampling, positions in the
/// token ids) — and the attention metadata's numbers.
struct HostStepInput: Sendable {
    /// Every part, one after the other: what each rank uploads in one copy.
    let values: [Int32]
    /// Each part's offset in `values` and its shape.
    let parts: [(offset: Int, shape: [Int])]
    /// The logits rows the step samples (its first rows); `numSeqs` and `numTokens` count a decode graph's padding
    /// rows too.
    var numLogitsRows: Int
    var numTokens: Int, numSeqs: Int, maxQueryLen: Int, maxSeqLen: Int, numDecodes: Int
    var hasPrefills: Bool
    /// The decode graph this step runs as, if any.
    var graph: DecodeGraphShape?

    init(_ parts: [(values: [Int32], shape: [Int])], hasLoRA: Bool, numLogitsRows: Int, numTokens: Int, numSeqs: Int,
         maxQueryLen: Int, maxSeqLen: Int, numDecodes: Int, hasPrefills: Bool, graph: DecodeGraphShape?) {
        self.hasLoRA = hasLoRA
        values = parts.flatMap(\.values)
        var offset = 0
        self.parts = parts.map { part in
            defer { offset += part.values.count }
            return (offset, part.shape)
        }
        self.numLogitsRows = numLogitsRows
        (self.numTokens, self.numSeqs, self.maxQueryLen, self.maxSeqLen, self.numDecodes) = (numTokens, numSeqs, maxQueryLen, maxSeqLen, numDecodes)
        self.hasPrefills = hasPrefills
        self.graph = graph
    }

    /// Whether the forward adds adapters (parts 8–10 are its `LoRAMapping`).
    let hasLoRA: Bool
    var hasPlaceholders: Bool { parts[11].shape != [0] }
}

/// The sampled tokens of the step in flight, on the sampling rank's backend, that a step's placeholders take.
struct PendingTokens: Sendable {
    /// Row r's token at element r · stride (a `PendingSample`'s `tokens`).
    var tensor: Tensor
    var stride: Int
}
