import VLLMCompute
import VLLMCore

/// Turning the scheduler's plain output into the runner's step sequences and sampling rows.
extension ModelRunner {
    /// Runs the step `output` describes; returns the sampled token (and logprobs, if asked) per
    /// request whose step reached the end of its tokens.
    func execute(_ output: SchedulerOutput, requests: (String) -> Request?, seeds: [String: UInt64])
        throws -> [String: (tokenId: Int, logprobs: TokenLogprobs?)] {
        var sequences: [StepSequence] = [], sampledIds: [String] = []
        for scheduled in output.scheduledRequests {
            guard let request = requests(scheduled.requestId) else { continue }
            let row = scheduled.isSampling ? Self.samplingRow(request, step: scheduled.numOutputTokens,
                                                             seed: seeds[scheduled.requestId] ?? 0) : nil
            if row != nil { sampledIds.append(scheduled.requestId) }
            sequences.append(StepSequence(tokenIds: scheduled.tokenIds.map(Int32.init), numComputedTokens: scheduled.numComputedTokens,
                                          blockIds: scheduled.blockIds.map(Int32.init), sampling: row))
        }
        guard !sequences.isEmpty else { return [:] }
        let sampled = try execute(sequences)
        var result: [String: (Int, TokenLogprobs?)] = [:]
        for (i, id) in sampledIds.enumerated() { result[id] = (Int(sampled.tokenIds[i]), sampled.logprobs[i]) }
        return result
    }

    /// The sampler's view of a request at this step (vLLM's sampling metadata for one row).
    static func samplingRow(_ request: Request, step: Int, seed: UInt64) -> SamplingRow {
        let p = request.samplingParams
        var row = SamplingRow()
        row.temperature = p.effectiveTemperature
        row.topK = p.topK
        row.topP = p.topP
        row.minP = p.minP
        row.presencePenalty = p.presencePenalty
        row.frequencyPenalty = p.frequencyPenalty
        row.repetitionPenalty = p.repetitionPenalty
        row.seed = seed
        row.step = step
        if p.repetitionPenalty != 1 { row.promptTokenIds = request.promptTokenIds.map(Int32.init) }
        if row.hasPenalties { row.outputTokenIds = request.outputTokenIds.map(Int32.init) }
        row.logitBias = Dictionary(uniqueKeysWithValues: p.clampedLogitBias.map { (Int32($0.key), $0.value) })
        row.allowedTokenIds = p.allowedTokenIds?.map(Int32.init)
        row.bannedTokenIds = request.bannedTokenIds.map(Int32.init)
        row.numLogprobs = p.logprobs
        return row
    }
}
