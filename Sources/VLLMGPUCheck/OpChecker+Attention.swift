import VLLMCompute

extension OpChecker {
    /// Paged attention over one mixed batch; `seqs` are (context length, new tokens) per sequence.
    /// Blocks are handed out in a shuffled order, so block tables are not contiguous.
    /// `cacheDType`: an fp8 dtype for an fp8 cache (random fp8 values, `kvScales` its scales); nil for the
    /// activation dtype.
    mutating func attention(_ name: String, heads: Int, kvHeads: Int, headSize: Int, blockSize: Int,
                            seqs: [(context: Int, query: Int)], cacheDType: DType? = nil,
                            kvScales: (key: Float, value: Float) = (1, 1)) throws {
        let blocksPerSeq = seqs.map { ($0.context + blockSize - 1) / blockSize }
        let numBlocks = blocksPerSeq.reduce(0, +) + 3
        var order = Array(0..<Int32(numBlocks))
        random.shuffle(&order)
        var blockTable = BlockTable(blockSize: blockSize)
        var next = 0
        for count in blocksPerSeq {
            blockTable.rows.append(Array(order[next..<next + count]))
            next += count
        }
        let tables = blockTable.padded()
        var queryStart: [Int32] = [0]
        for seq in seqs { queryStart.append(queryStart.last! + Int32(seq.query)) }
        let tokens = Int(queryStart.last!)
        let cacheShape = [numBlocks, blockSize, kvHeads, headSize]
        let keyCache = try cachePair(cacheShape, cacheDType)
        let valueCache = try cachePair(cacheShape, cacheDType)
        let query = try pair(values(tokens * heads * headSize), [tokens, heads * headSize])
        let out = try outputs([tokens, heads * headSize])
        // Leading decodes are announced as the runner announces them, so a step of decodes then longer
        // queries runs as two (CUDABackend.pagedAttention).
        let (numDecodes, prefillQueryStart) = AttentionMetadata.decodeSplit(queryStart: queryStart)
        func metadata(_ backend: any Backend) throws -> AttentionMetadata {
            AttentionMetadata(numTokens: tokens, numSeqs: seqs.count, maxQueryLen: seqs.map(\.query).max()!,
                              maxSeqLen: seqs.map(\.context).max()!, blockSize: blockSize, numDecodes: numDecodes,
                              queryStartLoc: try backend.makeInt32(queryStart),
                              seqLens: try backend.makeInt32(seqs.map { Int32($0.context) }),
                              blockTables: try backend.makeInt32(tables.values, shape: tables.shape),
                              slotMapping: try backend.makeInt32([Int32](repeating: -1, count: tokens)),
                              prefillQueryStartLoc: try prefillQueryStart.map { try backend.makeInt32($0) })
        }
        let scale = 1 / Float(headSize).squareRoot()
        try cpu.pagedAttention(query: query.0, cache: PagedKVCache(key: keyCache.0, value: valueCache.0, keyScale: kvScales.key,
                                                                   valueScale: kvScales.value),
                               metadata: try metadata(cpu), scale: scale, out: out.0)
        try gpu.pagedAttention(query: query.1, cache: PagedKVCache(key: keyCache.1, value: valueCache.1, keyScale: kvScales.key,
                                                                   valueScale: kvScales.value),
                               metadata: try metadata(gpu), scale: scale, out: out.1)
        let contexts = seqs.map(\.context)
        let cacheText = cacheDType.map { " \($0) cache" + (kvScales == (1, 1) ? "" : " scales \(kvScales.key)/\(kvScales.value)") } ?? ""
        let shape = "\(name)\(cacheText): H\(heads)/\(kvHeads) d\(headSize) bs\(blockSize) seqs "
            + (seqs.count <= 6 ? seqs.map { "\($0.query)/\($0.context)" }.joined(separator: ",")
                : "\(seqs.count)× \(seqs.map(\.query).max()!)/\(contexts.min()!)…\(contexts.max()!)")
        try record("pagedAttention", shape, cpu: out.0, gpu: out.1)
    }

    /// A paged cache's values on both backends (`cacheTensors`).
    mutating func cachePair(_ shape: [Int], _ dtype: DType?) throws -> (Tensor, Tensor) {
        let tensors = try cacheTensors(shape, dtype, on: [cpu, gpu])
        return (tensors[0], tensors[1])
    }

    /// A paged cache's values, the same on each of `backends`: random values of each one's activation dtype, or random
    /// fp8 codes (the same bytes on each) for an fp8 `dtype`.
    mutating func cacheTensors(_ shape: [Int], _ dtype: DType?, on backends: [any Backend]) throws -> [Tensor] {
        let contents = values(shape.reduce(1, *))
        guard let dtype, let format = dtype.float8Format else {
            return try backends.map { try $0.makeTensor(contents, shape: shape, dtype: $0.activationDType) }
        }
        return try contents.map { format.encode($0) }.withUnsafeBytes { raw in
            try backends.map { try $0.upload(raw, sourceDType: dtype, shape: shape, dtype: dtype) }
        }
    }

    /// A paged K/V cache of `shape`, the same on each of `backends` (`cacheTensors`), at `scales`.
    mutating func pagedCaches(_ shape: [Int], _ dtype: DType?, scales: (key: Float, value: Float),
                              on backends: [any Backend]) throws -> [PagedKVCache] {
        let keys = try cacheTensors(shape, dtype, on: backends), values = try cacheTensors(shape, dtype, on: backends)
        return zip(keys, values).map { PagedKVCache(key: $0, value: $1, keyScale: scales.key, valueScale: scales.value) }
    }

    /// What an fp8 cache written from the GPU's bf16 values may differ from the CPU's written from f32 ones: one step of
    /// the format (a value rounded to bf16 first may land on the neighbouring code); nil (the default bound) otherwise.
    static func float8StepTolerance(_ dtype: DType?) -> Float? {
        dtype?.float8Format.map { Float(1) / Float(1 << ($0 == .e4m3fn ? 4 : 3)) }
    }

    /// Steps over fp8 caches (`--kv-cache-dtype fp8`): decodes and prefills through the tensor-core kernels,
    /// both formats, scales 1 and not, head sizes 64 and 128.
    mutating func float8CacheCases() throws {
        for dtype in [DType.float8E4M3, .float8E5M2] {
            try attention("decode-b1-split", heads: 32, kvHeads: 8, headSize: 128, blockSize: 16, seqs: [(4000, 1)],
                          cacheDType: dtype)
            try attention("decode-mixed", heads: 16, kvHeads: 4, headSize: 128, blockSize: 16,
                          seqs: [(1, 1), (17, 1), (700, 1), (64, 1)], cacheDType: dtype, kvScales: (0.5, 3))
            try attention("prefill-4x512-g4", heads: 32, kvHeads: 8, headSize: 128, blockSize: 16,
                          seqs: [(512, 512), (512, 512), (300, 12), (1, 1)], cacheDType: dtype)
            try attention("mixed-decodes-first-d64", heads: 14, kvHeads: 2, headSize: 64, blockSize: 32,
                          seqs: [(300, 1), (17, 1), (600, 260), (90, 90)], cacheDType: dtype, kvScales: (2, 0.25))
            try writeKVCache(tokens: 37, kvHeads: 8, headSize: 128, blockSize: 16, numBlocks: 40, cacheDType: dtype,
                             kvScales: (0.5, 3))
            // A decode step's split straight into the fp8 cache (split_qkv_vec_fp8_*), and a prefill's (scratch rows,
            // then writeKVCache).
            for (tokens, heads, kvHeads, headSize) in [(1, 32, 8, 128), (5, 14, 2, 64), (100, 32, 8, 128)] {
                try splitQKVIntoFloat8(tokens: tokens, heads: heads, kvHeads: kvHeads, headSize: headSize, cacheDType: dtype)
            }
        }
    }

    /// Pure decode steps (every sequence feeds one token), which CUDABackend runs with decode_attention.cu
    /// unless SWIFT_VLLM_DECODE_ATTENTION=0: key partitions merged in-kernel by the last CTA (batch 1, long
    /// contexts), contexts shorter than a block or ending mid-block, each bound on the query heads a CTA
    /// serves (G 1, 2, 4, 7 of 8, 8, 16 as two CTAs of 8), lanes per key 8, 16 and 32 (headSize 64, 72, 96,
    /// 128, 256), block sizes 8, 16, 32, and one long context among short ones (split to bound a CTA's
    /// work). Block tables are scattered as in `attention`. `runAll` calls this after the mixed cases.
    mutating func decodeAttentionCases() throws {
        try attention("decode-b1-split", heads: 32, kvHeads: 8, headSize: 128, blockSize: 16, seqs: [(4000, 1)])
        // 16/4 heads rather than Llama's 32/8 (the same g4 kernel): the cache's random values take time.
        let mixed = [1, 15, 16, 17, 700] + (0..<59).map { _ in 1 + random.below(700) }
        try attention("decode-b64-mixed", heads: 16, kvHeads: 4, headSize: 128, blockSize: 16,
                      seqs: mixed.map { (context: $0, query: 1) })
        try attention("decode-g1-d64", heads: 8, kvHeads: 8, headSize: 64, blockSize: 16,
                      seqs: [(1, 1), (17, 1), (300, 1), (1000, 1)])
        try attention("decode-g2-bs32", heads: 16, kvHeads: 8, headSize: 128, blockSize: 32,
                      seqs: [(33, 1), (1, 1), (2048, 1)])
        try attention("decode-g4-d256", heads: 32, kvHeads: 8, headSize: 256, blockSize: 16, seqs: [(3000, 1), (1, 1)])
        try attention("decode-g7-d64", heads: 14, kvHeads: 2, headSize: 64, blockSize: 16,
                      seqs: [(1000, 1), (17, 1), (1, 1)])
        try attention("decode-g8-d128", heads: 32, kvHeads: 4, headSize: 128, blockSize: 16,
                      seqs: [(1, 1), (100, 1), (1500, 1)])
        try attention("decode-g16-d256", heads: 16, kvHeads: 1, headSize: 256, blockSize: 8,
                      seqs: [(513, 1), (9, 1), (2000, 1)])
        try attention("decode-g3-d72", heads: 6, kvHeads: 2, headSize: 72, blockSize: 8, seqs: [(77, 1), (130, 1)])
        try attention("decode-mha-96", heads: 4, kvHeads: 4, headSize: 96, blockSize: 32, seqs: [(600, 1), (65, 1), (1, 1)])
        let skewed = [8000] + (0..<63).map { _ in 1 + random.below(600) }
        try attention("decode-skew", heads: 8, kvHeads: 2, headSize: 128, blockSize: 16,
                      seqs: skewed.map { (context: $0, query: 1) })
    }

    /// Steps holding prefill chunks, which CUDABackend runs with prefill_attention.cu with bf16 activations
    /// unless SWIFT_VLLM_PREFILL_ATTENTION=0 (f32 activations, and head sizes other than 64, 128 and 256:
    /// attention.cu): a 1024-token prefill and four 512-token prefills with Llama 3's 32/8 heads, a chunk of
    /// 300 over a 700-token cached prefix, mixed steps (two prefills of different lengths beside three decode
    /// tokens), queries of two tokens, G = 1, 2, 4, 7, 8, 16 (tiles of 128, 64, 32, 18, 16 and 8 tokens),
    /// head sizes 64, 128 and 256, block sizes 8, 16 and 32, and queries that end mid-tile or are shorter
    /// than one. Block tables are scattered as in `attention`. `runAll` calls this after the decode cases.
    mutating func prefillAttentionCases() throws {
        try attention("prefill-1024-g4", heads: 32, kvHeads: 8, headSize: 128, blockSize: 16, seqs: [(1024, 1024)])
        try attention("prefill-4x512-g4", heads: 32, kvHeads: 8, headSize: 128, blockSize: 16,
                      seqs: [(512, 512), (512, 512), (512, 512), (512, 512)])
        try attention("prefill-chunk-g8", heads: 32, kvHeads: 4, headSize: 128, blockSize: 32, seqs: [(1000, 300)])
        try attention("prefill-chunk-g1-d64", heads: 4, kvHeads: 4, headSize: 64, blockSize: 16, seqs: [(1000, 300)])
        try attention("prefill-mixed-g4", heads: 16, kvHeads: 4, headSize: 128, blockSize: 16,
                      seqs: [(517, 517), (700, 45), (1, 1), (2000, 1), (33, 1)])
        try attention("prefill-mixed-g1-bs32", heads: 8, kvHeads: 8, headSize: 64, blockSize: 32,
                      seqs: [(1, 1), (300, 129), (37, 37), (64, 1), (1500, 1)])
        try attention("prefill-mixed-g8-d64", heads: 16, kvHeads: 2, headSize: 64, blockSize: 16,
                      seqs: [(90, 90), (600, 260), (17, 1), (1, 1), (129, 1)])
        try attention("prefill-two-token-g4", heads: 32, kvHeads: 8, headSize: 128, blockSize: 16,
                      seqs: [(100, 2), (5, 2), (1, 1)])
        try attention("prefill-g7-d64", heads: 14, kvHeads: 2, headSize: 64, blockSize: 16, seqs: [(400, 400), (50, 3)])
        // G = 5 (Qwen2.5-14B: 125 of a tile's 128 rows) and G = 1 at d128, where Hopper takes the wgmma kernel.
        try attention("prefill-g5-d128", heads: 40, kvHeads: 8, headSize: 128, blockSize: 16, seqs: [(600, 300), (77, 77), (1, 1)])
        try attention("prefill-g1-d128", heads: 8, kvHeads: 8, headSize: 128, blockSize: 16, seqs: [(300, 300), (130, 2)])
        try attention("prefill-g16-d256-bs8", heads: 16, kvHeads: 1, headSize: 256, blockSize: 8,
                      seqs: [(300, 100), (9, 9), (700, 1)])
        try attention("prefill-g2-d256-bs32", heads: 8, kvHeads: 4, headSize: 256, blockSize: 32,
                      seqs: [(513, 513), (40, 2)])
    }

    /// The device sampler against CPUBackend's on the same f32 logits: every row's token must be equal,
    /// and the logprobs close.
    mutating func sampling(vocab: Int) throws {
        var rows: [SamplingRow] = []
        func row(_ configure: (inout SamplingRow) -> Void) {
            var row = SamplingRow()
            row.seed = UInt64(rows.count) &* 7919 &+ 17
            row.step = rows.count
            configure(&row)
            rows.append(row)
        }
        row { $0.temperature = 0 }
        row { $0.temperature = 0; $0.numLogprobs = 5 }
        row { $0.temperature = 1 }
        row { $0.temperature = 0.7; $0.numLogprobs = 3 }
        row { $0.temperature = 1; $0.topK = 50 }
        row { $0.temperature = 0.9; $0.topP = 0.9 }
        row { $0.temperature = 1; $0.minP = 0.05 }
        row { $0.temperature = 0.8; $0.topK = 20; $0.topP = 0.8; $0.minP = 0.01; $0.numLogprobs = 0 }
        row {
            $0.temperature = 0
            $0.repetitionPenalty = 1.3
            $0.frequencyPenalty = 0.5
            $0.presencePenalty = 0.4
            $0.promptTokenIds = (0..<200).map { Int32(($0 * 97) % vocab) }
            $0.outputTokenIds = (0..<40).map { Int32(($0 * 31) % 50) }
        }
        row {
            $0.temperature = 1.1
            $0.repetitionPenalty = 0.8
            $0.frequencyPenalty = -0.3
            $0.outputTokenIds = [1, 1, 2, 3, 5, 8, 13, 21]
            $0.promptTokenIds = [Int32(vocab - 1), 4]
        }
        row {
            $0.temperature = 0
            $0.logitBias = [7: 100, 8: -5]
            $0.bannedTokenIds = [7]
        }
        row {
            $0.temperature = 1
            $0.allowedTokenIds = [3, 99, 100, 101, Int32(vocab - 2)]
            $0.numLogprobs = 2
        }
        let values = (0..<rows.count * vocab).map { _ in random.normal() * 4 }
        let logits = (try cpu.makeTensor(values, shape: [rows.count, vocab], dtype: .float32),
                      try gpu.makeTensor(values, shape: [rows.count, vocab], dtype: .float32))
        let expected = try cpu.sample(logits: logits.0, rows: rows)
        let got = try gpu.sample(logits: logits.1, rows: rows)
        let mismatches = zip(expected.tokenIds, got.tokenIds).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset)
        results.append(OpCheckResult(op: "sample.tokens", shape: "S\(rows.count) V\(vocab)",
                                     error: Float(mismatches.count) / Float(rows.count), tolerance: 0,
                                     note: mismatches.isEmpty ? "" : "rows \(mismatches) differ: cpu "
                                         + "\(mismatches.map { expected.tokenIds[$0] }) gpu \(mismatches.map { got.tokenIds[$0] })"))
        var expectedValues: [Float] = []
        var gotValues: [Float] = []
        var structureMatches = true
        for (e, g) in zip(expected.logprobs, got.logprobs) {
            guard let e, let g else {
                structureMatches = structureMatches && e == nil && g == nil
                continue
            }
            structureMatches = structureMatches && e.sampledRank == g.sampledRank && e.top.map(\.tokenId) == g.top.map(\.tokenId)
            expectedValues += [e.sampledLogprob] + e.top.map(\.logprob)
            gotValues += [g.sampledLogprob] + g.top.map(\.logprob)
        }
        results.append(OpCheckResult(op: "sample.logprobs", shape: "S\(rows.count) V\(vocab)",
                                     error: structureMatches ? relativeError(gotValues, expectedValues) : .infinity,
                                     tolerance: 1e-5, note: structureMatches ? "" : "ranks or top ids differ"))

        // A step of plain greedy rows takes the argmax kernels: the same tokens, ties to the lower id, NaN never.
        for numRows in [1, 7, 300] {
            var greedyValues = (0..<numRows * vocab).map { _ in random.normal() * 4 }
            greedyValues[vocab - 1] = 50
            greedyValues[vocab / 2] = 50  // a tie in row 0: the lower id wins
            if numRows > 1 { greedyValues[vocab + 3] = .nan }
            let greedyLogits = (try cpu.makeTensor(greedyValues, shape: [numRows, vocab], dtype: .float32),
                                try gpu.makeTensor(greedyValues, shape: [numRows, vocab], dtype: .float32))
            var greedy = SamplingRow()
            greedy.temperature = 0
            let want = try cpu.sample(logits: greedyLogits.0, rows: Array(repeating: greedy, count: numRows)).tokenIds
            let have = try gpu.sample(logits: greedyLogits.1, rows: Array(repeating: greedy, count: numRows)).tokenIds
            let differing = zip(want, have).filter { $0 != $1 }.count
            results.append(OpCheckResult(op: "sample.greedy", shape: "S\(numRows) V\(vocab)",
                                         error: Float(differing) / Float(numRows), tolerance: 0,
                                         note: want[0] == Int32(vocab / 2) ? "" : "row 0's tie went to \(want[0])"))
        }
    }
}
