import VLLMCompute
import VLLMCPU
import VLLMCUDA

extension OpChecker {
    /// Multi-LoRA's `addLoRA` (lora.cu's shrink and expand) against the CPU: a step whose tokens read random slots
    /// (−1: none) of random adapters, added to a random layer output.
    mutating func lora(_ name: String, tokenSlots: [Int32], depth: Int, sliceWidths: [Int], numSlots: Int, rank: Int) throws {
        let t = tokenSlots.count, n = sliceWidths.reduce(0, +), rows = sliceWidths.count * rank
        var ends: [Int] = [], end = 0
        for width in sliceWidths { end += width; ends.append(end) }
        let x = try pair(values(t * depth), [t, depth])
        let a = try pair(values(numSlots * rows * depth, scale: 1 / Float(depth).squareRoot()), [numSlots, rows, depth])
        let b = try pair(values(numSlots * n * rank, scale: 0.5), [numSlots, n, rank])
        let out = try pair(values(t * n), [t, n])
        let maxTiles = LoRAMapping.maxTiles(numTokens: t, maxSlots: numSlots)
        let (sorted, tiles) = LoRAMapping.arrays(tokenSlots: tokenSlots, maxTiles: maxTiles)
        let slots = try int32Pair(tokenSlots), order = try int32Pair(sorted), tileTable = try int32Pair(tiles, shape: [maxTiles, 3])
        try cpu.addLoRA(x.0, weights: LoRAWeights(a: a.0, b: b.0, sliceEnds: ends),
                        mapping: LoRAMapping(tokenSlots: slots.0, sortedTokens: order.0, tiles: tileTable.0), out: out.0)
        try gpu.addLoRA(x.1, weights: LoRAWeights(a: a.1, b: b.1, sliceEnds: ends),
                        mapping: LoRAMapping(tokenSlots: slots.1, sortedTokens: order.1, tiles: tileTable.1), out: out.1)
        try record("addLoRA \(name)", "T\(t) K\(depth) N\(sliceWidths) R\(rank) \(numSlots) slots", cpu: out.0, gpu: out.1)
    }

    /// Llama-3-8B's linears in decode and prefill steps, and a tiny model's (K below a k-step).
    mutating func loraCases() throws {
        func slots(_ count: Int, _ numSlots: Int) -> [Int32] { (0..<count).map { _ in Int32(random.below(numSlots + 1)) - 1 } }
        try lora("qkv decode", tokenSlots: slots(37, 4), depth: 4096, sliceWidths: [4096, 1024, 1024], numSlots: 4, rank: 16)
        try lora("gate_up decode", tokenSlots: slots(256, 8), depth: 4096, sliceWidths: [14336, 14336], numSlots: 8, rank: 16)
        try lora("down prefill", tokenSlots: Array(repeating: 1, count: 300) + Array(repeating: -1, count: 20)
                     + Array(repeating: 0, count: 77), depth: 14336, sliceWidths: [4096], numSlots: 2, rank: 64)
        try lora("o one token", tokenSlots: [2], depth: 4096, sliceWidths: [4096], numSlots: 3, rank: 32)
        try lora("tiny", tokenSlots: slots(21, 3), depth: 48, sliceWidths: [32, 16, 16], numSlots: 3, rank: 16)
        try lora("no adapter", tokenSlots: Array(repeating: -1, count: 9), depth: 256, sliceWidths: [64], numSlots: 2, rank: 16)
    }
}
