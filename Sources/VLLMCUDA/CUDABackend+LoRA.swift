import VLLMCompute

/// Multi-LoRA by Kernels/lora.cu: shrink (x · Aᵀ of each token's slot, f32 partial sums over splits of K) into
/// scratch, then expand (those sums · Bᵀ of the slot, added to the layer's output), each a CTA per tile of up to
/// 16 tokens of one slot. Both grids depend only on the step's size (`LoRAMapping.maxTiles`), so a decode graph
/// replays them as recorded, whatever the adapters of its tokens.
extension CUDABackend {
    public func addLoRA(_ x: Tensor, weights: LoRAWeights, mapping: LoRAMapping, out: Tensor) throws {
        let k = weights.inputs, n = weights.outputs, r = weights.rank, numTokens = mapping.tokenSlots.count
        let rows = weights.a.shape[1]
        try require(x.dtype == .bfloat16 && out.dtype == .bfloat16 && weights.a.dtype == .bfloat16 && weights.b.dtype == .bfloat16,
                    "addLoRA", "x \(x.dtype), out \(out.dtype), slots \(weights.a.dtype) (bf16 only)")
        try require(x.count == numTokens * k && out.count == numTokens * n, "addLoRA",
                    "x \(x.shape), out \(out.shape) for \(numTokens) tokens, adapters \(k) → \(n)")
        try require(k % 8 == 0 && r % 16 == 0 && weights.sliceEnds.count <= 3 && weights.sliceEnds.allSatisfy({ $0 % 8 == 0 }),
                    "addLoRA", "K \(k) (a multiple of 8), rank \(r) (of 16), slices ending at \(weights.sliceEnds) (at most 3, multiples of 8)")
        try require(context.computeCapability.major >= 8, "addLoRA", "needs sm_80 (bf16 tensor cores)")
        let maxTiles = mapping.maxTiles
        guard maxTiles > 0, numTokens > 0 else { return }
        let splits = Self.loraSplits(maxTiles: maxTiles, depth: k, multiprocessors: context.multiprocessorCount)
        let partials = try scratch(.loraShrunk, shape: [splits, numTokens, rows], dtype: .float32)
        try launch("lora_shrink_bf16", in: "lora", grid: (maxTiles, splits, 1), block: (128, 1, 1),
                   [x.device, weights.a.device, mapping.tiles.device, mapping.sortedTokens.device, partials.device,
                    .int32(Int32(numTokens)), .int32(Int32(k)), .int32(Int32(rows))])
        let ends = weights.sliceEnds + Array(repeating: n, count: 3 - weights.sliceEnds.count)
        try launch("lora_expand_bf16", in: "lora", grid: (maxTiles, (n + 255) / 256, 1), block: (128, 1, 1),
                   [partials.device, .int32(Int32(splits)), weights.b.device, mapping.tiles.device, mapping.sortedTokens.device,
                    out.device, .int32(Int32(numTokens)), .int32(Int32(n)), .int32(Int32(r)), .int32(Int32(rows)),
                    .int32(Int32(ends[0])), .int32(Int32(ends[1])), .int32(Int32(ends[2]))])
    }

    /// Splits of K for the shrink: enough CTAs for two waves over the GPU where the step has few tiles (a decode
    /// batch), each split keeping at least a 32-wide k-step per warp.
    static func loraSplits(maxTiles: Int, depth: Int, multiprocessors: Int) -> Int {
        let steps = (depth + 31) / 32
        return max(1, min((2 * multiprocessors + maxTiles - 1) / maxTiles, steps / 4, 16))
    }
}
