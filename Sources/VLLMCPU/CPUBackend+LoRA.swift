import VLLMCompute

extension CPUBackend {
    /// Each token's adapter, token by token: `A · x` of every slice in f32, then `B` of the slice the output is in.
    public func addLoRA(_ x: Tensor, weights: LoRAWeights, mapping: LoRAMapping, out: Tensor) throws {
        let k = weights.inputs, n = weights.outputs, r = weights.rank, numTokens = mapping.tokenSlots.count
        try expect(x.count == numTokens * k && out.count == numTokens * n && out.dtype == .float32,
                   "addLoRA: x \(x.shape), out \(out.shape) \(out.dtype) for \(numTokens) tokens, adapters \(k) → \(n)")
        let slots = mapping.tokenSlots.int32Pointer
        for t in 0..<numTokens {
            try expect(slots[t] < weights.numSlots, "addLoRA: token \(t) names slot \(slots[t]) of \(weights.numSlots)")
        }
        let xs = x.floatPointer, a = weights.a.floatPointer, b = weights.b.floatPointer, y = out.floatPointer
        let numSlices = weights.sliceEnds.count, sliceEnds = weights.sliceEnds
        parallelFor(numTokens, grain: 1) { range in
            var shrunk = [Float](repeating: 0, count: numSlices * r)
            for t in range where slots[t] >= 0 {
                let slot = Int(slots[t])
                for row in 0..<(numSlices * r) {
                    let aRow = a + (slot * numSlices * r + row) * k, xRow = xs + t * k
                    var sum: Float = 0
                    for i in 0..<k { sum += aRow[i] * xRow[i] }
                    shrunk[row] = sum
                }
                var slice = 0
                for column in 0..<n {
                    while column >= sliceEnds[slice] { slice += 1 }
                    let bRow = b + (slot * n + column) * r
                    var sum: Float = 0
                    for j in 0..<r { sum += bRow[j] * shrunk[slice * r + j] }
                    y[t * n + column] += sum
                }
            }
        }
    }
}
