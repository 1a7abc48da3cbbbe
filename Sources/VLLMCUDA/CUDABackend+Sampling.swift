import VLLMCompute
#if canImport(Glibc)
import Glibc
#endif

/// Sampling on the device (Kernels/sampling.cu): the rows' parameters and token lists go up in one
/// copy, one CTA per row does the whole of SamplingRow's spec, and one small copy brings back the
/// token ids and the requested logprobs.
extension CUDABackend {
    public func launchSample(logits: Tensor, rows: [SamplingRow]) throws -> PendingSample {
        try require(logits.dtype == .float32 && logits.rank == 2 && logits.shape[0] == rows.count, "sample",
                    "logits \(logits) for \(rows.count) rows (want f32 [S, V])")
        guard !rows.isEmpty else { return PendingSample(done: SamplerOutput(tokenIds: [], logprobs: []), tokens: nil) }
        let vocab = logits.shape[1]
        if rows.allSatisfy(\.isPlainGreedy) { return try greedyArgmax(logits: logits) }
        func inVocab(_ ids: [Int32]) -> [Int32] { ids.filter { $0 >= 0 && Int($0) < vocab } }

        var params: [Int32] = []
        params.reserveCapacity(rows.count * SamplingParamWord.wordsPerRow)
        var lists: [Int32] = []
        var needsCounts = false
        let maxLogprobs = rows.map { max(0, $0.numLogprobs ?? 0) }.max() ?? 0
        for row in rows {
            let prompt = row.repetitionPenalty != 1 ? inVocab(row.promptTokenIds) : []
            let output = row.hasPenalties ? inVocab(row.outputTokenIds) : []
            let bias = row.logitBias.filter { $0.key >= 0 && Int($0.key) < vocab }.sorted { $0.key < $1.key }
            let allowed = row.allowedTokenIds.map(inVocab) ?? []
            let banned = inVocab(row.bannedTokenIds)
            var flags: SamplingFlags = []
            if row.numLogprobs != nil { flags.insert(.logprobs) }
            if row.allowedTokenIds != nil { flags.insert(.allowed) }
            if row.isGreedy { flags.insert(.greedy) }
            if row.hasPenalties { flags.insert(.penalties); needsCounts = true }
            var block = SamplingParamBlock()
            block.set(.temperature, float: row.temperature)
            block[.topK] = Int32(row.topK.map { $0 >= vocab ? 0 : max($0, 1) } ?? 0)
            block.set(.topP, float: row.topP)
            block.set(.minP, float: row.minP)
            block.set(.presence, float: row.presencePenalty)
            block.set(.frequency, float: row.frequencyPenalty)
            block.set(.repetition, float: row.repetitionPenalty)
            block.set(low: .seedLow, high: .seedHigh, row.seed)
            block.set(low: .stepLow, high: .stepHigh, UInt64(truncatingIfNeeded: row.step))
            block[.numLogprobs] = Int32(max(0, row.numLogprobs ?? 0))
            block[.listOffset] = Int32(lists.count)
            block[.numPrompt] = Int32(prompt.count)
            block[.numOutput] = Int32(output.count)
            block[.numBias] = Int32(bias.count)
            block[.numAllowed] = Int32(allowed.count)
            block[.numBanned] = Int32(banned.count)
            block[.flags] = flags.rawValue
            params += block.words
            lists += prompt + output + bias.map(\.key) + bias.map { Int32(bitPattern: $0.value.bitPattern) }
            lists += allowed + banned
        }

        let uploaded = params + lists
        let inputs = try scratch(.samplerInputs, shape: [uploaded.count], dtype: .int32)
        try copy(uploaded, into: inputs)
        let work = try scratch(.samplerWork, shape: [rows.count, vocab], dtype: .float32)
        let counts = needsCounts ? try scratch(.samplerCounts, shape: [rows.count, vocab], dtype: .int32) : work
        let resultWords = 3 + 2 * maxLogprobs
        let result = try scratch(.samplerResult, shape: [rows.count, resultWords], dtype: .int32)
        let listsAddress = KernelArgument.pointer(UInt64(inputs.address) + UInt64(4 * params.count))
        try launch("sample_f32", in: "sampling", grid: (rows.count, 1, 1), block: (1024, 1, 1),
                   [logits.device, work.device, counts.device, inputs.device, listsAddress, result.device,
                    .int32(Int32(vocab)), .int32(Int32(maxLogprobs))])
        let read = try readbacks.queueCopy(of: result)
        return PendingSample(tokens: (result, resultWords)) { [self] in
            try collectSample(words: try read(), resultWords: resultWords, maxLogprobs: maxLogprobs, logits: logits, rows: rows)
        }
    }

    /// The sampled tokens and logprobs of `sample_f32`'s result words.
    private func collectSample(words: [Int32], resultWords: Int, maxLogprobs: Int, logits: Tensor,
                               rows: [SamplingRow]) throws -> SamplerOutput {

        var tokenIds: [Int32] = []
        var logprobs: [TokenLogprobs?] = []
        for (index, row) in rows.enumerated() {
            let base = index * resultWords
            let token = words[base]
            tokenIds.append(token)
            guard let wanted = row.numLogprobs else {
                logprobs.append(nil)
                continue
            }
            let sampledLogprob = Float(bitPattern: UInt32(bitPattern: words[base + 1]))
            let rank = Int(words[base + 2])
            if wanted < 0 {
                // The whole vocabulary, ranked: rare, so done on the host from the raw row.
                logprobs.append(try fullVocabularyLogprobs(logits.rows(index..<index + 1), sampledLogprob: sampledLogprob,
                                                           rank: rank))
                continue
            }
            let top = (0..<wanted).map { k in
                (tokenId: words[base + 3 + k],
                 logprob: Float(bitPattern: UInt32(bitPattern: words[base + 3 + maxLogprobs + k])))
            }
            logprobs.append(TokenLogprobs(sampledLogprob: sampledLogprob, sampledRank: rank, top: top))
        }
        return SamplerOutput(tokenIds: tokenIds, logprobs: logprobs)
    }

    /// Every row plain greedy: the argmax of each row, spread over the GPU (argmax_f32: CTAs over slices of the
    /// vocabulary, the last of a row's merging them), the same token `sample_f32` picks.
    private func greedyArgmax(logits: Tensor) throws -> PendingSample {
        let (numRows, vocab) = (logits.shape[0], logits.shape[1])
        let numSlices = max(1, min(64, (vocab + 4095) / 4096, (2 * context.multiprocessorCount + numRows - 1) / numRows))
        let partialValues = try scratch(.argmaxValues, shape: [numRows, numSlices], dtype: .float32)
        let partialIds = try scratch(.argmaxIds, shape: [numRows, numSlices], dtype: .int32)
        let result = try scratch(.argmaxResult, shape: [numRows], dtype: .int32)
        let counters = try splitCounters(atLeast: numRows)
        try launch("argmax_f32", in: "sampling", grid: (numRows, numSlices, 1), block: (256, 1, 1),
                   [logits.device, partialValues.device, partialIds.device, counters.device, result.device, .int32(Int32(vocab))])
        let read = try readbacks.queueCopy(of: result)
        return PendingSample(tokens: (result, 1)) {
            SamplerOutput(tokenIds: try read(), logprobs: Array(repeating: nil, count: numRows))
        }
    }

    private func fullVocabularyLogprobs(_ row: Tensor, sampledLogprob: Float, rank: Int) throws -> TokenLogprobs {
        let raw = try downloadFloats(row)
        let maximum = raw.max() ?? 0
        let sum = raw.reduce(0.0) { $0 + Double(expf($1 - maximum)) }
        let logSum = Float(log(sum))
        let values = raw.map { $0 - maximum - logSum }
        let order = values.indices.sorted { values[$0] != values[$1] ? values[$0] > values[$1] : $0 < $1 }
        return TokenLogprobs(sampledLogprob: sampledLogprob, sampledRank: rank,
                             top: order.map { (tokenId: Int32($0), logprob: values[$0]) })
    }

    public func applyTokenBitmask(logits: Tensor, rows: [Int32], masks: [UInt32]) throws {
        guard !rows.isEmpty else { return }
        try require(logits.dtype == .float32 && logits.rank == 2 && masks.count % rows.count == 0, "applyTokenBitmask",
                    "logits \(logits), \(rows.count) rows, \(masks.count) mask words")
        let vocab = logits.shape[1]
        let words = masks.count / rows.count
        let uploaded = rows + masks.map { Int32(bitPattern: $0) }
        let inputs = try scratch(.tokenMasks, shape: [uploaded.count], dtype: .int32)
        try copy(uploaded, into: inputs)
        let masksAddress = KernelArgument.pointer(UInt64(inputs.address) + UInt64(4 * rows.count))
        try launch("apply_token_bitmask_f32", in: "sampling", grid: (rows.count, (vocab + 1023) / 1024, 1), block: (1024, 1, 1),
                   [logits.device, inputs.device, masksAddress, .int32(Int32(vocab)), .int32(Int32(words))])
    }

    public func scatterSampledTokens(_ sampled: Tensor, stride: Int, rows: Tensor, positions: Tensor, into tokenIds: Tensor) throws {
        try require(sampled.dtype == .int32 && rows.dtype == .int32 && positions.dtype == .int32 && tokenIds.dtype == .int32
                    && rows.count == positions.count && stride >= 1, "scatterSampledTokens",
                    "sampled \(sampled), rows \(rows), positions \(positions), tokenIds \(tokenIds)")
        let count = positions.count
        guard count > 0 else { return }
        try launch("scatter_sampled_tokens", in: "embedding", grid: ((count + 255) / 256, 1, 1), block: (256, 1, 1),
                   [sampled.device, .int32(Int32(stride)), rows.device, positions.device, tokenIds.device, .int32(Int32(count))])
    }
}
