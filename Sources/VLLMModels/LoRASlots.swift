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
    /// steps, so a step already queued keeps reading what the slot held.
    func set(_ adapter: LoRAAdapter?, slot: Int) throws {
        precondition((0..<capacity.maxLoras).contains(slot), "LoRA slot \(slot) of \(capacity.maxLoras)")
        let full = 0 ..< Int.max
        for (index, layer) in layers.enumerated() {
            let modules = adapter?.layers[index]
            let r = adapter?.rank ?? 0
            try fill(layer.qkv, slot: slot, parts: [(.qProj, qRows), (.kProj, kvRows), (.vProj, kvRows)], columns: nil,
                     modules: modules, rank: r)
            try fill(layer.o, slot: slot, parts: [(.oProj, full)], columns: oColumns, modules: modules, rank: r)
            try fill(layer.gateUp, slot: slot, parts: [(.gateProj, intermediate), (.upProj, intermediate)], columns: nil,
                     modules: modules, rank: r)
            try fill(layer.down, slot: slot, parts: [(.downProj, full)], columns: downColumns, modules: modules, rank: r)
        }
    }

    /// One linear's slot: slice s's A rows at `s·R ..< s·R + r` (its `columns` of the inputs), B's `rows` of each
    /// part one after the other (all of them where `rows` is `0 ..< Int.max`), zero elsewhere.
    private func fill(_ weights: LoRAWeights, slot: Int, parts: [(module: LoRAModule, rows: Range<Int>)], columns: Range<Int>?,
                      modules: [LoRAModule: (a: [Float], b: [Float])]?, rank r: Int) throws {
        let padded = weights.rank, k = weights.inputs, n = weights.outputs
        var a = [Float](repeating: 0, count: parts.count * padded * k), b = [Float](repeating: 0, count: n * padded)
        for (s, part) in parts.enumerated() {
            let sliceRows = (s == 0 ? 0 : weights.sliceEnds[s - 1]) ..< weights.sliceEnds[s]
            guard let (fullA, fullB) = modules?[part.module] else { continue }
            let fullK = fullA.count / r, inputs = columns ?? 0 ..< fullK
            let rows = part.rows.upperBound == Int.max ? 0 ..< fullB.count / r : part.rows
            precondition(inputs.count == k && rows.count == sliceRows.count, "LoRA slot shapes")
            for j in 0..<r {
                for (c, column) in inputs.enumerated() { a[(s * padded + j) * k + c] = fullA[j * fullK + column] }
            }
            for (i, row) in rows.enumerated() {
                for j in 0..<r { b[(sliceRows.lowerBound + i) * padded + j] = fullB[row * r + j] }
            }
        }
        for (host, tensor) in [(a, weights.a), (b, weights.b)] {
            let shape = [1] + tensor.shape.dropFirst()
            let staged = try host.withUnsafeBytes { try backend.upload($0, sourceDType: .float32, shape: shape, dtype: tensor.dtype) }
            try backend.copy(staged, to: tensor.rows(slot ..< slot + 1))
        }
    }
}
