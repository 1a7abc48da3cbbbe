import VLLMCompute

/// The encoder ops (BERT, XLM-RoBERTa) by Kernels/encoder.cu.
extension CUDABackend {
    public func layerNorm(_ x: Tensor, residual: Tensor?, weight: Tensor, bias: Tensor, epsilon: Float, out: Tensor) throws {
        let act = activationDType, dim = weight.count
        try require(dim > 0 && x.dtype == act && out.dtype == act && weight.dtype == act && bias.dtype == act
                    && bias.count == dim && x.count % dim == 0 && out.count == x.count
                    && (residual.map { $0.dtype == act && $0.count == x.count } ?? true),
                    "layerNorm", "x \(x), residual \(residual.map { "\($0)" } ?? "none"), weight \(weight), bias \(bias), out \(out) (want \(act))")
        try launch("layer_norm_\(kernelSuffix)", in: "encoder", grid: (x.count / dim, 1, 1), block: (256, 1, 1),
                   [x.device, residual?.device ?? .pointer(0), weight.device, bias.device, out.device,
                    .int32(Int32(dim)), .float(epsilon)])
    }

    public func gelu(_ x: Tensor, out: Tensor) throws {
        try require(x.dtype == activationDType && out.dtype == activationDType && out.count == x.count, "gelu",
                    "x \(x), out \(out) (want \(activationDType))")
        try launch("gelu_\(kernelSuffix)", in: "encoder", grid: ((x.count + 1023) / 1024, 1, 1), block: (256, 1, 1),
                   [x.device, out.device, .int64(Int64(x.count))])
    }

    public func add(_ a: Tensor, _ b: Tensor, out: Tensor) throws {
        let act = activationDType
        try require(a.dtype == act && b.dtype == act && out.dtype == act && a.count == b.count && out.count == a.count,
                    "add", "a \(a), b \(b), out \(out) (want \(act))")
        try launch("add_\(kernelSuffix)", in: "encoder", grid: ((a.count + 1023) / 1024, 1, 1), block: (256, 1, 1),
                   [a.device, b.device, out.device, .int64(Int64(a.count))])
    }

    public func encoderAttention(qkv: Tensor, queryStartLoc: Tensor, numSeqs: Int, maxSeqLen: Int, numHeads: Int,
                                 headSize: Int, scale: Float, out: Tensor) throws {
        let act = activationDType, width = numHeads * headSize
        let tokens = width > 0 ? out.count / width : 0
        try require(width > 0 && qkv.dtype == act && out.dtype == act && qkv.count == 3 * tokens * width
                    && out.count == tokens * width && queryStartLoc.dtype == .int32 && queryStartLoc.count == numSeqs + 1
                    && numSeqs > 0, "encoderAttention",
                    "qkv \(qkv), out \(out), queryStartLoc \(queryStartLoc): \(numSeqs) sequences, \(numHeads) heads of \(headSize)")
        let sharedBytes = 4 * (headSize + maxSeqLen)
        try require(sharedBytes <= 200 << 10, "encoderAttention", "sequences of up to \(maxSeqLen) tokens (at most ~50,000)")
        try launch("encoder_attention_\(kernelSuffix)", in: "encoder", grid: (tokens, numHeads, 1), block: (128, 1, 1),
                   sharedBytes: sharedBytes,
                   [qkv.device, queryStartLoc.device, out.device, .int32(Int32(numSeqs)), .int32(Int32(numHeads)),
                    .int32(Int32(headSize)), .float(scale)])
    }
}
