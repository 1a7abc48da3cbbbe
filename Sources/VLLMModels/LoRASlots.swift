import VLLMCompute

/// How many adapters a model holds on its device at once, and their largest rank (`--max-loras`,
/// `--max-lora-rank`).
public struct LoRACapacity: Sendable, Equatable {
    public var maxLoras: Int
    public var maxRank: Int

    public init(maxLoras: Int, maxRank: Int) {
        self.maxLoras = maxLoras
        self.maxRank = maxRank
    }
}

/// The adapter slots of a Llama-shaped model's linears (`LoRAWeights` per layer: q/k/v, o, gate/up, down),
/// in this tensor-parallel rank's share: column-parallel linears (q/k/v, gate/up) keep all of A and their
/// rows of B; row-parallel ones (o, down) their columns of A and all of B, so each rank adds a partial
/// delta before the all-reduce, which sums them as it sums the base layer's partial outputs.
final class LlamaLoRASlots: @unchecked Sendable {
    // @unchecked: written by `set` on the thread that runs the model, between steps, in stream order.
    struct Layer {
        var qkv: LoRAWeights, o: LoRAWeights, gateUp: LoRAWeights, down: LoRAWeights
    }

    let capacity: LoRACapacity
    let layers: [Layer]
    let backend: any Backend
    /// This rank's rows of each column-parallel part, and the columns of each row-parallel linear (nil: all).
    let qRows: Range<Int>, kvRows: Range<Int>, intermediate: Range<Int>
    let oColumns: Range<Int>?, downColumns: Range<Int>?

    init(config: ModelConfig, backend: any Backend, capacity: LoRACapacity, qRows: Range<Int>, kvRows: Range<Int>,
         intermediate: Range<Int>, rowParallel: Bool) throws {
        self.capacity = capacity
        self.backend = backend
        (self.qRows, self.kvRows, self.intermediate) = (qRows, kvRows, intermediate)
        let oColumns = rowParallel ? qRows : nil, downColumns = rowParallel ? intermediate : nil
        (self.oColumns, self.downColumns) = (oColumns, downColumns)
        let slots = capacity.maxLoras, r = LoRAWeights.paddedRank(capacity.maxRank), act = backend.activationDType
        let h = config.hiddenSize, q = qRows.count, kv = kvRows.count, i = intermediate.count
        func weights(slices: [Int], inputs: Int) throws -> LoRAWeights {
            var ends: [Int] = [], end = 0
            for width in slices { end += width; ends.append(end) }
            return LoRAWeights(a: try backend.allocate(shape: [slots, slices.count * r, inputs], dtype: act),
                               b: try backend.allocate(shape: [slots, end, r], dtype: act), sliceEnds: ends)
        }
        layers = try (0..<config.numHiddenLayers).map { _ in
            Layer(qkv: try weights(slices: [q, kv, kv], inputs: h), o: try weights(slices: [h], inputs: oColumns?.count ?? q),
                  gateUp: try weights(slices: [i, i], inputs: h), down: try weights(slices: [h], inputs: downColumns?.count ?? i))
        }
        for slot in 0..<slots { try set(nil, slot: slot) }
    }

    /// Writes `adapter` (this rank's share of it) into `slot`, or zeros where nil. Queued in order with the
    /// steps, so a step already queued keeps reading what the slot held. The host lays out every layer's slot
    /// values at once (in parallel, already in the slots' dtype), uploads them in one copy, and the device copies
    /// each piece into its slot.
    func set(_ adapter: LoRAAdapter?, slot: Int) throws {
        precondition((0..<capacity.maxLoras).contains(slot), "LoRA slot \(slot) of \(capacity.maxLoras)")
        let full = 0 ..< Int.max
        let pieces = layers.indices.flatMap { index -> [Piece] in
            let layer = layers[index]
            return [Piece(weights: layer.qkv, parts: [(.qProj, qRows), (.kProj, kvRows), (.vProj, kvRows)], columns: nil, layer: index),
                    Piece(weights: layer.o, parts: [(.oProj, full)], columns: oColumns, layer: index),
                    Piece(weights: layer.gateUp, parts: [(.gateProj, intermediate), (.upProj, intermediate)], columns: nil, layer: index),
                    Piece(weights: layer.down, parts: [(.downProj, full)], columns: downColumns, layer: index)]
        }
        var offsets: [Int] = [], total = 0
        for piece in pieces {
            offsets.append(total)
            total += piece.weights.a.count / capacity.maxLoras + piece.weights.b.count / capacity.maxLoras
        }
        let dtype = layers[0].qkv.a.dtype
        var staging = [UInt8](repeating: 0, count: total * dtype.size)
        if let adapter {
            staging.withUnsafeMutableBytes { raw in
                let base = raw.baseAddress!
                ParallelFor.chunks(pieces.count) { range in
                    for i in range { pieces[i].write(adapter, dtype: dtype, to: base, at: offsets[i]) }
                }
            }
        }
        let staged = try staging.withUnsafeBytes { try backend.upload($0, sourceDType: dtype, shape: [total], dtype: dtype) }
        for (piece, offset) in zip(pieces, offsets) {
            let a = piece.weights.a.rows(slot ..< slot + 1), b = piece.weights.b.rows(slot ..< slot + 1)
            func view(_ start: Int, like target: Tensor) -> Tensor {
                Tensor(storage: staged.storage, byteOffset: staged.byteOffset + start * dtype.size, shape: target.shape, dtype: dtype)
            }
            try backend.copy(view(offset, like: a), to: a)
            try backend.copy(view(offset + a.count, like: b), to: b)
        }
    }

    /// One linear's slot: slice s's A rows at `s·R ..< s·R + r` (its `columns` of the inputs), B's `rows` of each
    /// part one after the other (all of them where `rows` is `0 ..< Int.max`), zero elsewhere.
    struct Piece {
        var weights: LoRAWeights
        var parts: [(module: LoRAModule, rows: Range<Int>)]
        var columns: Range<Int>?
        var layer: Int

        /// Writes the slot's A [S·R, K], then B [N, R], in `dtype` from element `offset` of `base` (zeroed before).
        func write(_ adapter: LoRAAdapter, dtype: DType, to base: UnsafeMutableRawPointer, at offset: Int) {
            let padded = weights.rank, k = weights.inputs, r = adapter.rank
            let bOffset = offset + parts.count * padded * k
            for (s, part) in parts.enumerated() {
                guard let (fullA, fullB) = adapter.layers[layer][part.module] else { continue }
                let sliceStart = s == 0 ? 0 : weights.sliceEnds[s - 1]
                let fullK = fullA.count / r, inputs = columns ?? 0 ..< fullK
                let rows = part.rows.upperBound == Int.max ? 0 ..< fullB.count / r : part.rows
                precondition(inputs.count == k && rows.count == weights.sliceEnds[s] - sliceStart, "LoRA slot shapes")
                for j in 0..<r {
                    for (c, column) in inputs.enumerated() {
                        dtype.storeFloat(fullA[j * fullK + column], to: base, at: offset + (s * padded + j) * k + c)
                    }
                }
                for (i, row) in rows.enumerated() {
                    for j in 0..<r { dtype.storeFloat(fullB[row * r + j], to: base, at: bOffset + (sliceStart + i) * padded + j) }
                }
            }
        }
    }
}
