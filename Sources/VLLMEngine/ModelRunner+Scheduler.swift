import VLLMCompute
import VLLMCore

/// Turning the scheduler's plain output into the runner's step sequences and sampling rows.
extension ModelRunner {
    /// What a step produced for the requests in it.
    struct StepSamples {
        /// Per request whose step reached the end of its tokens, every sampled row: its token, then one per draft
        /// token it verified.
        var rows: [String: [Int]] = [:]
        /// The logprobs of such a request's (only) sampled row, when it asked for them.
        var logprobs: [String: TokenLogprobs] = [:]
        /// Per request asking for prompt logprobs: those of prompt positions `start ..< start + count`.
        var promptLogprobs: [String: (start: Int, values: [TokenLogprobs])] = [:]
    }

    /// A scheduled step in flight: the runner's launched step and whose rows are whose.
    struct LaunchedSamples {
        var step: LaunchedStep
        var ids: [String]
        /// Whose each sampled row is (a request verifying draft tokens has several, consecutive).
        var sampledIds: [String]
        /// The next step may not be launched before this one is back: it reads the step's logits or
        /// final hidden states on the host after the device has them (prompt logprobs, logprobs over the
        /// whole vocabulary), which the next forward would overwrite; or a request in it samples with
        /// its output history (penalties, bad words), which lacks this step's token until it is back.
        var mustFinishBeforeNext: Bool
    }

    /// A scheduled step whose forward is queued and whose sampling waits (`launchSampling`).
    struct ForwardedSamples {
        var step: ForwardedStep
        var ids: [String]
        var sampledIds: [String]
        var mustFinishBeforeNext: Bool
    }

    /// Queues the step `output` describes without waiting for the device. `previous`: the step in flight,
    /// whose sampled tokens are this one's pending inputs (`ScheduledRequest.pendingTokenId`).
    /// `masks`: the grammar masks of the requests that sample this step (structured outputs).
    func launch(_ output: SchedulerOutput, after previous: LaunchedSamples? = nil,
                masks: [String: [UInt32]] = [:]) throws -> LaunchedSamples {
        try launchSampling(launchForward(output, after: previous), masks: masks)
    }

    /// Queues the sampling of a forwarded step, with the grammar masks of its requests (by id).
    func launchSampling(_ forwarded: ForwardedSamples, masks: [String: [UInt32]] = [:]) throws -> LaunchedSamples {
        var byIndex: [Int: [UInt32]] = [:]
        if !masks.isEmpty {
            for (index, id) in forwarded.ids.enumerated() { if let mask = masks[id] { byIndex[index] = mask } }
        }
        return LaunchedSamples(step: try launchSampling(forwarded.step, masks: byIndex), ids: forwarded.ids,
                               sampledIds: forwarded.sampledIds, mustFinishBeforeNext: forwarded.mustFinishBeforeNext)
    }

    /// Queues the inputs and forward of the step `output` describes; its sampling comes after.
    func launchForward(_ output: SchedulerOutput, after previous: LaunchedSamples? = nil) throws -> ForwardedSamples {
        var sequences: [StepSequence] = [], ids: [String] = [], sampledIds: [String] = []
        var mustFinish = false
        let previousRows = previous.map {
            Dictionary($0.sampledIds.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        } ?? [:]
        // Decodes (one token) first, the rest after, each in scheduling order: attention then runs its
        // decode kernel and its prefill kernel over two contiguous runs of sequences (vLLM orders them so).
        let ordered = output.scheduledRequests.filter { $0.numScheduledTokens == 1 }
            + output.scheduledRequests.filter { $0.numScheduledTokens != 1 }
        let loraSlots = try activateLoRAs(Set(ordered.compactMap(\.lora)))
        for scheduled in ordered {
            let inputs = scheduled.sampling
            let row = scheduled.isSampling ? Self.samplingRow(inputs, step: scheduled.numOutputTokens) : nil
            let numRows = 1 + scheduled.specTokenIds.count
            if row != nil { sampledIds += Array(repeating: scheduled.requestId, count: numRows) }
            // Fed token j at position p predicts position p + 1: wanted while that is still prompt.
            var promptSpec: (targets: [Int32], topK: Int)?
            if let topK = inputs.params.promptLogprobs {
                let prompt = inputs.promptTokenIds, first = scheduled.numComputedTokens + 1
                let end = min(scheduled.numComputedTokens + scheduled.numScheduledTokens + 1, prompt.count)
                if first < end { promptSpec = (prompt[first..<end].map(Int32.init), topK) }
            }
            if promptSpec != nil || (row != nil && (inputs.params.logprobs ?? 0) < 0) || inputs.params.needsOutputHistory {
                mustFinish = true
            }
            var pendingRow: Int?
            if scheduled.tokenIds.last == ScheduledRequest.pendingTokenId {
                guard let source = previousRows[scheduled.requestId] else {
                    throw BackendError("request \(scheduled.requestId) has a pending token but no step in flight samples it")
                }
                pendingRow = source
            }
            ids.append(scheduled.requestId)
            sequences.append(StepSequence(tokenIds: scheduled.tokenIds.map(Int32.init), numComputedTokens: scheduled.numComputedTokens,
                                          blockIds: scheduled.blockIds.map(Int32.init), sampling: row, promptLogprobs: promptSpec,
                                          pendingSourceRow: pendingRow, numSampledRows: numRows,
                                          loraSlot: scheduled.lora.map { loraSlots[$0.id]! }))
        }
        return ForwardedSamples(step: try launchForward(sequences, after: previous?.step), ids: ids, sampledIds: sampledIds,
                                mustFinishBeforeNext: mustFinish)
    }

    /// The device slot of each adapter of a step, putting those not in one into one on every rank.
    public func activateLoRAs(_ requests: Set<LoRARequest>) throws -> [Int: Int] {
        guard !requests.isEmpty else { return [:] }
        guard let loras else { throw BackendError("a request with LoRA adapter '\(requests.first!.name)', but the model has no LoRA slots") }
        let ranks = self.ranks
        return try loras.activate(requests) { adapter, slot in
            _ = try threads.run { rank in try ranks[rank].model.setLoRA(adapter, slot: slot) }
        }
    }

    /// Waits for a launched step and maps its rows back to request ids.
    func wait(_ launched: LaunchedSamples) throws -> StepSamples {
        let (sampled, promptLogprobs) = try wait(launched.step)
        var result = StepSamples()
        for (i, id) in launched.sampledIds.enumerated() {
            if result.logprobs[id] == nil, let logprobs = sampled.logprobs[i] { result.logprobs[id] = logprobs }
            result.rows[id, default: []].append(Int(sampled.tokenIds[i]))
        }
        for (s, values) in promptLogprobs {
            result.promptLogprobs[launched.ids[s]] = (launched.step.sequences[s].numComputedTokens + 1, values)
        }
        return result
    }

    /// The sampler's view of a request at this step (vLLM's sampling metadata for one row).
    static func samplingRow(_ inputs: SamplingInputs, step: Int) -> SamplingRow {
        let p = inputs.params
        var row = SamplingRow()
        row.temperature = p.effectiveTemperature
        row.topK = p.topK
        row.topP = p.topP
        row.minP = p.minP
        row.presencePenalty = p.presencePenalty
        row.frequencyPenalty = p.frequencyPenalty
        row.repetitionPenalty = p.repetitionPenalty
        row.seed = inputs.seed
        row.step = step
        if p.repetitionPenalty != 1 { row.promptTokenIds = inputs.promptTokenIds.map(Int32.init) }
        if row.hasPenalties { row.outputTokenIds = inputs.outputTokenIds.map(Int32.init) }
        row.logitBias = Dictionary(uniqueKeysWithValues: p.clampedLogitBias.map { (Int32($0.key), $0.value) })
        row.allowedTokenIds = p.allowedTokenIds?.map(Int32.init)
        row.bannedTokenIds = inputs.bannedTokenIds.map(Int32.init)
        row.numLogprobs = p.logprobs
        return row
    }
}
