extension Scheduler {
    /// Takes a step's sampled tokens back: appends them to the requests whose step reached the end
    /// of their tokens, checks stop conditions (length, EOS, stop tokens, `minTokens`), and frees
    /// what finished. Returns, per request that gained a token or finished, what happened.
    ///
    /// `sampledTokenIds` maps request id → the token sampled at its last scheduled position; ids
    /// of prompt chunks that do not complete the prompt are ignored.
    public mutating func updateFromOutput(
        _ output: SchedulerOutput, sampledTokenIds: [String: Int]
    ) -> [EngineCoreOutput] {
        updateFromOutput(output, sampledTokens: sampledTokenIds.mapValues { [$0] })
    }

    /// `updateFromOutput`, with every sampled row of each request: one, or `1 + d` for a request that verified `d`
    /// draft tokens. Draft i is accepted while it equals the token sampled at its position (rows 0 ..< i accepted);
    /// the first row that differs gives the request's next token, or, every draft accepted, the last row does.
    /// Sampling at a draft's position from the target's own distribution and keeping the draft only where the
    /// sample equals it is rejection sampling for a proposal that puts all its mass on one token: the tokens kept
    /// are distributed exactly as without speculation (and, seeded per output position, are the same tokens).
    /// Rejected drafts' K/V slots are taken back (`numComputedTokens`); tokens after a stop are dropped.
    public mutating func updateFromOutput(
        _ output: SchedulerOutput, sampledTokens: [String: [Int]]
    ) -> [EngineCoreOutput] {
        var outputs: [EngineCoreOutput] = []
        for scheduled in output.scheduledRequests {
            // Finished (aborted, a stop string) since `schedule()`: its blocks are already gone. A request
            // preempted since (async scheduling) still takes its token: it is recomputed with it.
            guard var request = request(scheduled.requestId), !request.isFinished else { continue }
            guard scheduled.isSampling else { continue }
            request.numPendingTokens -= 1
            guard let rows = sampledTokens[scheduled.requestId], !rows.isEmpty else {
                store(request)
                continue
            }
            let drafts = scheduled.specTokenIds
            var numAccepted = 0
            while numAccepted < drafts.count && numAccepted + 1 < rows.count && rows[numAccepted] == drafts[numAccepted] {
                numAccepted += 1
            }
            if !drafts.isEmpty {
                specDecodingStats.record(numDraftTokens: drafts.count, numAccepted: numAccepted)
                if request.status == .running {
                    request.numComputedTokens = max(0, request.numComputedTokens - (drafts.count - numAccepted))
                }
            }
            var newTokenIds: [Int] = []
            var finishReason: FinishReason?
            for tokenId in rows.prefix(numAccepted + 1) {
                request.appendOutputTokenId(tokenId)
                newTokenIds.append(tokenId)
                finishReason = checkStop(&request)
                if finishReason != nil { break }
            }
            outputs.append(
                EngineCoreOutput(
                    requestId: request.requestId, newTokenIds: newTokenIds, finishReason: finishReason,
                    stopReason: request.stopReason, numCachedTokens: request.numCachedTokens ?? 0))
            if let finishReason {
                request.status = .finished(finishReason)
                retire(request)
            } else {
                store(request)
            }
        }
        return outputs
    }

    /// vLLM's `check_stop`, except that the context length is checked first: a request can never
    /// grow past `maxModelLen`, whatever `minTokens` says.
    private func checkStop(_ request: inout Request) -> FinishReason? {
        if request.numTokens >= config.maxModelLen { return .length }
        let params = request.samplingParams
        if request.numOutputTokens < params.minTokens { return nil }
        guard let last = request.outputTokenIds.last else { return nil }
        if !params.ignoreEos, let eos = request.eosTokenId, last == eos { return .stop }
        if params.stopTokenIds.contains(last) {
            request.stopReason = .tokenId(last)
            return .stop
        }
        if request.numOutputTokens >= request.maxTokens(maxModelLen: config.maxModelLen) { return .length }
        return nil
    }
}
