import VLLMCompute
import VLLMCore

/// Speculative decoding by a draft model (`{"model": DRAFT, "num_speculative_tokens": k}`, vLLM's `draft_model`): a
/// smaller model of the target's vocabulary proposes each request's next tokens greedily, one batched forward per
/// draft position, and the target verifies them in one step as it verifies n-gram drafts (a greedy draft puts all its
/// probability on one token, so "keep the draft while it equals the target's sample" keeps the target's distribution).
///
/// The draft runs on its own `ModelRunner` — its own weights, workspace and KV cache — whose cache has as many blocks
/// as the target's and is addressed by the same block ids: the scheduler's block tables serve both, and a request's
/// blocks are grown to hold its drafts before they are proposed (`Scheduler.reserveDraftSlots`). The draft's K/V of
/// a request's tokens is kept between steps; the positions of rejected drafts are simply written again.
final class DraftModelProposer {
    let runner: ModelRunner
    let numSpeculativeTokens: Int
    /// Per request, how many of its first tokens the draft's cache holds.
    private var computed: [String: Int] = [:]

    init(runner: ModelRunner, numSpeculativeTokens: Int) {
        self.runner = runner
        self.numSpeculativeTokens = numSpeculativeTokens
    }

    /// A request to draft for: its tokens (the last one just sampled, not yet in any cache), its blocks (covering its
    /// tokens and `numDrafts` more positions), and how many drafts it may take.
    struct Want {
        var requestId: String
        var tokens: [Int]
        var blockIds: [Int]
        var numDrafts: Int
    }

    /// A request's blocks were freed (preempted or finished): its draft K/V is gone with them.
    func forget(_ requestId: String) { computed[requestId] = nil }

    /// Up to `numDrafts` greedy draft tokens for each of `wants`. First forward: each request's tokens the draft has not
    /// read yet (its whole prompt the first time; chunked to the draft runner's token budget), sampling the first draft
    /// at the last of them; then one forward per further draft, each request feeding its previous draft.
    func propose(_ wants: [Want]) throws -> [String: [Int]] {
        guard !wants.isEmpty else { return [:] }
        var greedy = SamplingRow()
        greedy.temperature = 0
        var drafts = [[Int]](repeating: [], count: wants.count)
        let blockTables = wants.map { $0.blockIds.map(Int32.init) }

        // The unread tokens, in batches within the runner's budget; a request's last chunk samples its first draft.
        var offsets = wants.map { min(computed[$0.requestId] ?? 0, $0.tokens.count - 1) }
        var next = 0
        while next < wants.count {
            var batch: [StepSequence] = [], owners: [Int] = [], budget = runner.maxNumBatchedTokens
            var index = next
            while index < wants.count && budget > 0 && batch.count < runner.maxNumSeqs {
                let want = wants[index], start = offsets[index]
                let end = min(want.tokens.count, start + budget)
                let samples = end == want.tokens.count
                batch.append(StepSequence(tokenIds: want.tokens[start..<end].map(Int32.init), numComputedTokens: start,
                                          blockIds: blockTables[index], sampling: samples ? greedy : nil))
                if samples { owners.append(index) }
                budget -= end - start
                offsets[index] = end
                if !samples { break }  // the rest of this request's tokens go in the next batch
                index += 1
            }
            let sampled = try runner.execute(batch).tokenIds
            for (owner, token) in zip(owners, sampled) { drafts[owner].append(Int(token)) }
            next = owners.last.map { $0 + 1 } ?? next
        }
        for want in wants { computed[want.requestId] = want.tokens.count }

        // Further drafts: request i feeds its draft j − 1 at position count + j − 2 and samples draft j.
        for position in 1..<max(1, wants.map(\.numDrafts).max() ?? 1) {
            let active = wants.indices.filter { wants[$0].numDrafts > position }
            for chunk in stride(from: 0, to: active.count, by: runner.maxNumSeqs) {
                let members = active[chunk..<min(active.count, chunk + runner.maxNumSeqs)]
                let batch = members.map { index in
                    StepSequence(tokenIds: [Int32(drafts[index][position - 1])],
                                 numComputedTokens: wants[index].tokens.count + position - 1, blockIds: blockTables[index],
                                 sampling: greedy)
                }
                let sampled = try runner.execute(batch).tokenIds
                for (index, token) in zip(members, sampled) { drafts[index].append(Int(token)) }
            }
        }
        return Dictionary(uniqueKeysWithValues: zip(wants.map(\.requestId), drafts))
    }
}
