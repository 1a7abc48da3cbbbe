import VLLMCompute

/// Multi-LoRA by Kernels/lora.cu (bf16 on tensor cores; f32 on CUDA cores): shrink (x · Aᵀ of each token's slot in
/// f32, split over K where the step is small, the tile's last split adding the partial sums) into
/// scratch, then expand (those sums · Bᵀ of the slot, added to the layer's output), each a CTA per tile of up to
/// 16 tokens of one slot. Both grids depend only on the step's size (`LoRAMapping.maxTiles`) and the mapping's
/// arrays keep their place in the step's inputs, so a decode graph replays them as recorded, whatever the adapters of
/// its tokens.
extension CUDABackend {
    public func addLoRA(_ x: Tensor, weights: LoRAWeights, mapping: LoRAMapping, out: Tensor) throws {
        let k = weights.inputs, n = weights.outputs, r = weights.rank, numTokens = mapping.tokenSlots.count
        let rows = weights.a.shape[1], act = activationDType
        try require([x.dtype, out.dtype, weights.a.dtype, weights.b.dtype].allSatisfy { $0 == act } && (act == .bfloat16 || act == .float32),
                    "addLoRA", "x \(x.dtype), out \(out.dtype), slots \(weights.a.dtype) (all bf16, or all f32)")
        try require(x.count == numTokens * k && out.count == numTokens * n, "addLoRA",
                    "x \(x.shape), out \(out.shape) for \(numTokens) tokens, adapters \(k) → \(n)")
        try require(k % 8 == 0 && r % 16 == 0 && weights.sliceEnds.count <= 3 && weights.sliceEnds.allSatisfy({ $0 % 8 == 0 }),
                    "addLoRA", "K \(k) (a multiple of 8), rank \(r) (of 16), slices ending at \(weights.sliceEnds) (at most 3, multiples of 8)")
        try require(act == .float32 || context.computeCapability.major >= 8, "addLoRA", "bf16 needs sm_80 (tensor cores)")
        let maxTiles = mapping.maxTiles
        guard maxTiles > 0, numTokens > 0 else { return }
        let bf16 = act == .bfloat16
        let splits = bf16 ? Self.loraSplits(maxTiles: maxTiles, depth: k, multiprocessors: context.multiprocessorCount) : 1
        // Split 0's rows end up holding the sums: what the expand reads.
        let partials = try scratch(.loraShrunk, shape: [splits, numTokens, rows], dtype: .float32)
        if bf16 {
            let counters = try splitCounters(atLeast: maxTiles)
            try launch("lora_shrink_bf16", in: "lora", grid: (maxTiles, splits, 1), block: (128, 1, 1),
                       [x.device, weights.a.device, mapping.tiles.device, mapping.sortedTokens.device, partials.device, counters.device,
                        .int32(Int32(numTokens)), .int32(Int32(k)), .int32(Int32(rows))])
        } else {
            try launch("lora_shrink_f32", in: "lora", grid: (maxTiles, 1, 1), block: (256, 1, 1),
                       [x.device, weights.a.device, mapping.tiles.device, mapping.sortedTokens.device, partials.device,
                        .int32(Int32(k)), .int32(Int32(rows))])
        }
        let ends = weights.sliceEnds + Array(repeating: n, count: 3 - weights.sliceEnds.count)
        try launch(bf16 ? "lora_expand_bf16" : "lora_expand_f32", in: "lora", grid: (maxTiles, (n + 255) / 256, 1),
                   block: (bf16 ? 128 : 256, 1, 1),
                   [partials.device, weights.b.device, mapping.tiles.device, mapping.sortedTokens.device, out.device,
                    .int32(Int32(n)), .int32(Int32(r)), .int32(Int32(rows)),
                    .int32(Int32(ends[0])), .int32(Int32(ends[1])), .int32(Int32(ends[2]))])
    }

    /// Splits of K for the shrink: enough CTAs for two waves over the GPU where a step has few tiles (a decode
    /// batch), each split keeping a 32-wide k-step per warp; none once the tiles fill the GPU by themselves.
    static func loraSplits(maxTiles: Int, depth: Int, multiprocessors: Int) -> Int {
        max(1, min((2 * multiprocessors + maxTiles - 1) / maxTiles, (depth + 31) / 32 / 4, 16))
    }
}
