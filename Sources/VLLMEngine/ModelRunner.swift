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

    public init(tokenIds: [Int32], numComputedTokens: Int, blockIds: [Int32], sampling: SamplingRow?,
                promptLogprobs: (targets: [Int32], topK: Int)? = nil, pendingSourceRow: Int? = nil) {
        self.pendingSourceRow = pendingSourceRow
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
public final class ModelRunner: @unchecked Sendable {
    // @unchecked: driven by one thread at a time (the engine loop); nothing in it is shared.
    public let model: any CausalLM
    public let blockSize: Int
    public let numBlocks: Int
    public let maxNumBatchedTokens: Int
    public let maxNumSeqs: Int
    public let kvCaches: [PagedKVCache]
    let workspace: ForwardWorkspace
    /// Every index tensor of a step, uploaded at once (`makeInput`); kept and grown, never per step.
    private var stepInputs: Tensor
    /// Pure decode steps as CUDA graphs (DecodeGraphs.swift); off with `enforceEager` or on the CPU.
    var graphs: DecodeGraphs
    /// Host time of the steps run so far: `prepare`, `launch` and `wait` (the engine adds the rest).
    public internal(set) var timings = StepTimings()

    /// - Parameter enforceEager: vLLM's `--enforce-eager`: every step launches its kernels one by one, no
    ///   decode step runs as a recorded graph.
    public init(model: any CausalLM, numBlocks: Int, blockSize: Int, maxNumBatchedTokens: Int, maxNumSeqs: Int,
                enforceEager: Bool = false) throws {
        self.model = model
        self.blockSize = blockSize
        self.numBlocks = numBlocks
        self.maxNumBatchedTokens = maxNumBatchedTokens
        self.maxNumSeqs = maxNumSeqs
        kvCaches = try model.makeKVCaches(numBlocks: numBlocks, blockSize: blockSize)
        workspace = try model.makeWorkspace(maxNumTokens: maxNumBatchedTokens, maxNumSeqs: maxNumSeqs)
        stepInputs = try model.backend.allocate(shape: [0], dtype: .int32)
        graphs = DecodeGraphs(backend: model.backend, enabled: !enforceEager, blockSize: blockSize,
                              maxRows: min(maxNumBatchedTokens, maxNumSeqs))
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
                maskedRows.append(Int32(rows.count))
                maskWords += mask
            }
            rows.append(row)
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

    /// Waits for a launched step: its sampled tokens (one per sequence with `sampling`, in order) and
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
            let logits = try model.logits(rows: try model.backend.makeInt32(slice), workspace: workspace)
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
        let graphShape = graphs.shape(for: sequences)
        let (input, placeholders) = try makeInput(sequences, graph: graphShape)
        if let placeholders {
            guard let pendingTokens else { throw BackendError("a step with pending tokens but no step in flight to take them from") }
            try model.backend.scatterSampledTokens(pendingTokens.tensor, stride: pendingTokens.stride, rows: placeholders.rows,
                                                   positions: placeholders.positions, into: input.tokenIds)
        }
        let prepared = monotonicSeconds()
        defer {
            let end = monotonicSeconds()
            timings.prepare += prepared - start
            timings.launch += end - prepared
        }
        guard let graphShape else { return try model.forward(input, kvCaches: kvCaches, workspace: workspace) }
        let logits = try graphs.run(graphShape) { try model.forward(input, kvCaches: kvCaches, workspace: workspace) }
        return logits.rows(0..<sequences.count)
    }

    /// The flat step inputs; every index is checked here, once, so kernels can trust them. `placeholders`:
    /// where the tokens of the step in flight go (rows of its sampling, positions in `tokenIds`), if any.
    /// `graph`: a decode step padded to a recorded graph's shape and written where that graph reads it —
    /// rows past the step's sequences feed token 0 at position 0 with a context of one key and write no
    /// K/V (slot −1); their outputs are never sampled.
    func makeInput(_ sequences: [StepSequence], graph shape: DecodeGraphShape? = nil) throws
        -> (input: ForwardInput, placeholders: (rows: Tensor, positions: Tensor)?) {
        let numTokens = sequences.reduce(0) { $0 + $1.tokenIds.count }
        guard numTokens > 0, numTokens <= maxNumBatchedTokens, sequences.count <= maxNumSeqs else {
            throw BackendError("step of \(numTokens) tokens in \(sequences.count) sequences; limits are 1…\(maxNumBatchedTokens) tokens and \(maxNumSeqs) sequences")
        }
        let blockTable = BlockTable(blockSize: blockSize, rows: sequences.map(\.blockIds))
        var tokenIds: [Int32] = [], positions: [Int32] = [], slots: [Int32] = []
        var queryStart: [Int32] = [0], seqLens: [Int32] = [], logitsIndices: [Int32] = []
        var pendingRows: [Int32] = [], pendingPositions: [Int32] = []
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
            queryStart.append(Int32(tokenIds.count))
            seqLens.append(Int32(seqLen))
            if seq.sampling != nil { logitsIndices.append(Int32(tokenIds.count - 1)) }
        }
        var maxSeqLen = Int(seqLens.max()!)
        if let shape {
            guard numTokens == sequences.count, logitsIndices.count == numTokens, shape.rows >= numTokens,
                  maxSeqLen <= shape.tableWidth * blockSize else {
                throw BackendError("a step of \(sequences.count) sequences, \(numTokens) tokens, does not fit decode graph \(shape)")
            }
            for row in numTokens..<shape.rows {
                tokenIds.append(0)
                positions.append(0)
                slots.append(-1)
                queryStart.append(Int32(row + 1))
                seqLens.append(1)
                logitsIndices.append(Int32(row))
            }
            maxSeqLen = shape.tableWidth * blockSize
        }
        let tables = blockTable.padded(width: shape?.tableWidth, numRows: shape?.rows)
        if logitsIndices.isEmpty { logitsIndices = [Int32(numTokens - 1)] }
        let (numDecodes, prefillQueryStart) = AttentionMetadata.decodeSplit(queryStart: queryStart)
        // Every index tensor of the step in one upload: one allocation and one copy, then views. A graph's
        // parts land at the same offsets every time for its shape, which fixes them.
        let parts: [(values: [Int32], shape: [Int])] = [
            (tokenIds, [tokenIds.count]), (positions, [positions.count]), (slots, [slots.count]),
            (queryStart, [queryStart.count]), (seqLens, [seqLens.count]), tables, (logitsIndices, [logitsIndices.count]),
            (prefillQueryStart ?? [], [prefillQueryStart?.count ?? 0]),
            (pendingRows, [pendingRows.count]), (pendingPositions, [pendingPositions.count]),
        ]
        let values = parts.flatMap(\.values)
        let packed = try shape == nil ? stepInputBuffer(count: values.count) : graphs.inputBuffer(count: values.count)
        try model.backend.copy(values, into: packed)
        var offset = 0
        let views = parts.map { part -> Tensor in
            defer { offset += part.values.count }
            return Tensor(storage: packed.storage, byteOffset: packed.byteOffset + 4 * offset, shape: part.shape, dtype: .int32)
        }
        let attention = AttentionMetadata(
            numTokens: tokenIds.count, numSeqs: seqLens.count,
            maxQueryLen: sequences.map(\.tokenIds.count).max()!, maxSeqLen: maxSeqLen, blockSize: blockSize,
            numDecodes: numDecodes, queryStartLoc: views[3], seqLens: views[4], blockTables: views[5], slotMapping: views[2],
            prefillQueryStartLoc: prefillQueryStart == nil ? nil : views[7])
        let input = ForwardInput(tokenIds: views[0], positions: views[1], attention: attention, logitsIndices: views[6])
        return (input, pendingRows.isEmpty ? nil : (views[8], views[9]))
    }

    /// The first `count` int32s of the eager steps' input buffer, grown in powers of two so a step of a new
    /// size rarely allocates; the stream orders this step's upload after the last step's reads.
    private func stepInputBuffer(count: Int) throws -> Tensor {
        if stepInputs.count < count {
            var capacity = 4096
            while capacity < count { capacity *= 2 }
            stepInputs = try model.backend.allocate(shape: [capacity], dtype: .int32)
        }
        return stepInputs.rows(0..<count)
    }
}
