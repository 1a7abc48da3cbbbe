import VLLMEngine

extension OpenAIServing {
    /// The logprob entries of one position as vLLM orders them: the sampled token first, then the
    /// most likely ones, each token once.
    static func rankedEntries(sampledTokenId: Int, _ logprobs: TokenLogprobs) -> [(tokenId: Int, logprob: Float)] {
        var entries: [(tokenId: Int, logprob: Float)] = [(sampledTokenId, logprobs.sampledLogprob)]
        for top in logprobs.top where Int(top.tokenId) != sampledTokenId {
            entries.append((Int(top.tokenId), top.logprob))
        }
        return entries
    }

    /// OpenAI shows no logprob below -9999 (vLLM clamps `-inf` to it so the JSON stays valid).
    static func clamped(_ value: Float) -> Double { max(Double(value), -9999.0) }

    /// vLLM's `_create_completion_logprobs`: `nil` entries (prompt positions when echoing) get
    /// `null` logprobs; `top_logprobs` holds up to `numTop + 1` entries, sampled token first.
    func completionLogprobs(
        tokenIds: [Int], logprobs: [TokenLogprobs?], numTop: Int, initialTextOffset: Int
    ) -> CompletionLogProbs {
        var result = CompletionLogProbs()
        var lastTokenLength = 0
        for (position, tokenId) in tokenIds.enumerated() {
            let token = tokenizer.tokenText(tokenId)
            if let step = position < logprobs.count ? logprobs[position] : nil {
                result.tokenLogprobs.append(Self.clamped(step.sampledLogprob))
                var top = OrderedLogprobs()
                for (rank, entry) in Self.rankedEntries(sampledTokenId: tokenId, step).enumerated()
                where numTop == -1 || rank <= numTop {
                    top.set(tokenizer.tokenText(entry.tokenId), Self.clamped(entry.logprob))
                }
                result.topLogprobs.append(top)
            } else {
                result.tokenLogprobs.append(nil)
                result.topLogprobs.append(nil)
            }
            result.tokens.append(token)
            result.textOffset.append(result.textOffset.last.map { $0 + lastTokenLength } ?? initialTextOffset)
            // Python's len(): code points.
            lastTokenLength = token.unicodeScalars.count
        }
        return result
    }

    /// vLLM's `prompt_logprobs` of one prompt (`-inf` clamped to -9999, as its `clamp_prompt_logprobs`).
    func promptLogprobs(tokenIds: [Int], logprobs: [TokenLogprobs?]) -> PromptLogprobs {
        PromptLogprobs(positions: zip(tokenIds, logprobs).map { tokenId, step in
            step.map { step in
                var entries = [PromptLogprobs.Entry(
                    tokenId: tokenId, logprob: Self.clamped(step.sampledLogprob), rank: step.sampledRank,
                    decodedToken: tokenizer.tokenText(tokenId))]
                for (index, top) in step.top.enumerated() where Int(top.tokenId) != tokenId {
                    entries.append(PromptLogprobs.Entry(
                        tokenId: Int(top.tokenId), logprob: Self.clamped(top.logprob), rank: index + 1,
                        decodedToken: tokenizer.tokenText(Int(top.tokenId))))
                }
                return entries
            }
        })
    }

    /// vLLM's `_create_chat_logprobs`: `top_logprobs` holds the first `numTop` entries, sampled
    /// token first.
    func chatLogprobs(tokenIds: [Int], logprobs: [TokenLogprobs], numTop: Int) -> ChatLogProbs {
        var content: [ChatLogProbsContent] = []
        for (tokenId, step) in zip(tokenIds, logprobs) {
            let token = tokenizer.tokenText(tokenId)
            let top = Self.rankedEntries(sampledTokenId: tokenId, step).enumerated()
                .filter { numTop == -1 || $0.offset < numTop }
                .map { entry in
                    let text = tokenizer.tokenText(entry.element.tokenId)
                    return ChatLogProb(
                        token: text, logprob: Self.clamped(entry.element.logprob), bytes: Array(text.utf8))
                }
            content.append(
                ChatLogProbsContent(
                    token: token, logprob: Self.clamped(step.sampledLogprob), bytes: Array(token.utf8),
                    topLogprobs: top))
        }
        return ChatLogProbs(content: content)
    }
}
