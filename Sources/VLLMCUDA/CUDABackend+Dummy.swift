import VLLMCompute

/// `--load-format dummy` weights made where they live (Kernels/dummy.cu): no host arrays, no upload;
/// bit for bit the values of `CPUBackend.fillDummy`.
extension CUDABackend {
    public func fillDummy(_ out: Tensor, key: UInt64) throws {
        let kernel: String
        switch out.dtype {
        case .bfloat16: kernel = "fill_dummy_bf16"
        case .float32: kernel = "fill_dummy_f32"
        default: throw BackendError("fillDummy: \(out.dtype) is not supported (bf16, f32)")
        }
        guard out.count > 0 else { return }
        // A grid-stride loop: enough CTAs to fill the GPU, each thread a few elements of a large weight.
        let blocks = min((out.count + 255) / 256, 32 * context.multiprocessorCount)
        try launch(kernel, in: "dummy", grid: (blocks, 1, 1), block: (256, 1, 1),
                   [out.device, .int64(Int64(out.count)), .int64(Int64(bitPattern: key))])
    }
}
