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
        var outputs: [EngineCoreOutput] = []
        for scheduled in output.scheduledRequests {
            // Finished (aborted, a stop string) since `schedule()`: its blocks are already gone. A request
            // preempted since (async scheduling) still takes its token: it is recomputed with it.
            guard var request = request(scheduled.requestId), !request.isFinished else { continue }
            guard scheduled.isSampling else { continue }
            request.numPendingTokens -= 1
            guard let tokenId = sampledTokenIds[scheduled.requestId] else {
                store(request)
                continue
            }
            request.appendOutputTokenId(tokenId)
            let finishReason = checkStop(&request)
            outputs.append(
                EngineCoreOutput(
                    requestId: request.requestId, newTokenIds: [tokenId], finishReason: finishReason,
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
