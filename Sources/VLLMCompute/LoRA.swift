/// Multi-LoRA on the device: every adapter of a linear layer lives in a slot of two stacked tensors, and
/// a step's tokens each name their slot, so requests of different adapters (and of none) share one pass
/// (Punica's shrink + expand, as vLLM runs it).
///
/// Shapes: `L` slots, `R` the slots' rank (`--max-lora-rank` rounded up to 16, lower ranks zero-padded),
/// `K` the layer's inputs, `N` its outputs, split into `S` slices that have adapters of their own (q, k
/// and v of a stacked q/k/v projection; gate and up; one slice for o and down).
public struct LoRAWeights: Sendable {
    /// A of each slice, stacked: slot l's slice s occupies rows `s·R ..< (s + 1)·R` of `a[l]`. [L, S·R, K]
    public let a: Tensor
    /// B of each slice, already multiplied by the adapter's scaling, its rows at the slice's output rows. [L, N, R]
    public let b: Tensor
    /// The output column where each slice ends (ascending; the last is N).
    public let sliceEnds: [Int]

    public init(a: Tensor, b: Tensor, sliceEnds: [Int]) {
        precondition(a.shape.count == 3 && b.shape.count == 3 && a.shape[0] == b.shape[0]
                     && a.shape[1] == sliceEnds.count * b.shape[2] && sliceEnds.last == b.shape[1],
                     "LoRAWeights: a \(a.shape), b \(b.shape), slices ending at \(sliceEnds)")
        self.a = a
        self.b = b
        self.sliceEnds = sliceEnds
    }

    public var numSlots: Int { a.shape[0] }
    public var rank: Int { b.shape[2] }
    public var inputs: Int { a.shape[2] }
    public var outputs: Int { b.shape[1] }

    /// The rank every slot is padded to: a multiple of 16, the tensor cores' k.
    public static func paddedRank(_ maxRank: Int) -> Int { (maxRank + 15) / 16 * 16 }
}

/// Which slot each token of a step reads (a step input, uploaded with the others): the slots per token,
/// and the same tokens grouped by slot into tiles of at most `tileTokens`, which the CUDA kernels take one
/// per thread block.
public struct LoRAMapping: Sendable {
    /// [T] int32: token t's slot, or −1 for a token of no adapter.
    public var tokenSlots: Tensor
    /// [T] int32: the tokens that have a slot, grouped by slot (each group in token order); the rest unused.
    public var sortedTokens: Tensor
    /// [maxTiles, 3] int32: (slot, first index into `sortedTokens`, tokens) per tile; unused tiles hold 0 tokens.
    public var tiles: Tensor

    public init(tokenSlots: Tensor, sortedTokens: Tensor, tiles: Tensor) {
        self.tokenSlots = tokenSlots
        self.sortedTokens = sortedTokens
        self.tiles = tiles
    }

    public var maxTiles: Int { tiles.shape[0] }

    /// Tokens per tile: one m16 tile of the tensor cores.
    public static let tileTokens = 16

    /// The tiles a step of `numTokens` tokens over at most `maxSlots` distinct slots may need: every slot's
    /// last tile may be partial.
    public static func maxTiles(numTokens: Int, maxSlots: Int) -> Int {
        (numTokens + tileTokens - 1) / tileTokens + maxSlots
    }

    /// The host arrays of a step's mapping: `sortedTokens` [T] and `tiles` [maxTiles · 3], from each token's slot.
    public static func arrays(tokenSlots: [Int32], maxTiles: Int) -> (sortedTokens: [Int32], tiles: [Int32]) {
        var bySlot: [Int32: [Int32]] = [:]
        for (t, slot) in tokenSlots.enumerated() where slot >= 0 { bySlot[slot, default: []].append(Int32(t)) }
        var sorted: [Int32] = [], tiles: [Int32] = []
        for slot in bySlot.keys.sorted() {
            let tokens = bySlot[slot]!
            var start = 0
            while start < tokens.count {
                let count = min(tileTokens, tokens.count - start)
                tiles += [slot, Int32(sorted.count + start), Int32(count)]
                start += count
            }
            sorted += tokens
        }
        precondition(tiles.count <= 3 * maxTiles, "LoRA mapping: \(tiles.count / 3) tiles, room for \(maxTiles)")
        sorted += [Int32](repeating: 0, count: tokenSlots.count - sorted.count)
        tiles += [Int32](repeating: 0, count: 3 * maxTiles - tiles.count)
        return (sorted, tiles)
    }
}
