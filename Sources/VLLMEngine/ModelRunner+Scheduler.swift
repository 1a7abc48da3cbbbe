import VLLMCompute
import VLLMCore

/// Turning the scheduler's plain output into the runner's step sequences and sampling rows.
extension ModelRunner {
    /// What a step produced for the requests in it.
    struct StepSamples {
        /// Per request whose step reached the end of its tokens: the sampled token and its logprobs.
        var sampled: [String: (tokenId: Int, logprobs: TokenLogprobs?)] = [:]
        /// Per request asking for prompt logprobs: those of prompt positions `start ..< start + count`.
        var promptLogprobs: [String: (start: Int, values: [TokenLogprobs])] = [:]
    }

    /// Runs the step `output` describes: everything it needs travels in `output`.
    func execute(_ output: SchedulerOutput) throws -> StepSamples {
        var sequences: [StepSequence] = [], ids: [String] = [], sampledIds: [String] = []
        // Decodes (one token) first, the rest after, each in scheduling order: attention then runs its
        // decode kernel and its prefill kernel over two contiguous runs of sequences (vLLM orders them so).
        let ordered = output.scheduledRequests.filter { $0.numScheduledTokens == 1 }
            + output.scheduledRequests.filter { $0.numScheduledTokens != 1 }
        for scheduled in ordered {
            let inputs = scheduled.sampling
            let row = scheduled.isSampling ? Self.samplingRow(inputs, step: scheduled.numOutputTokens) : nil
            if row != nil { sampledIds.append(scheduled.requestId) }
            // Fed token j at position p predicts position p + 1: wanted while that is still prompt.
            var promptSpec: (targets: [Int32], topK: Int)?
            if let topK = inputs.params.promptLogprobs {
                let prompt = inputs.promptTokenIds, first = scheduled.numComputedTokens + 1
                let end = min(scheduled.numComputedTokens + scheduled.numScheduledTokens + 1, prompt.count)
                if first < end { promptSpec = (prompt[first..<end].map(Int32.init), topK) }
            }
            ids.append(scheduled.requestId)
            sequences.append(StepSequence(tokenIds: scheduled.tokenIds.map(Int32.init), numComputedTokens: scheduled.numComputedTokens,
                                          blockIds: scheduled.blockIds.map(Int32.init), sampling: row, promptLogprobs: promptSpec))
        }
        guard !sequences.isEmpty else { return StepSamples() }
        let (sampled, promptLogprobs) = try executeWithPromptLogprobs(sequences)
        var result = StepSamples()
        for (i, id) in sampledIds.enumerated() { result.sampled[id] = (Int(sampled.tokenIds[i]), sampled.logprobs[i]) }
        for (s, values) in promptLogprobs {
            result.promptLogprobs[ids[s]] = (sequences[s].numComputedTokens + 1, values)
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
