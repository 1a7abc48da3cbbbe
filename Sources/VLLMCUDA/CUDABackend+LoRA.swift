import VLLMCompute

extension CUDABackend {
    public func addLoRA(_ x: Tensor, weights: LoRAWeights, mapping: LoRAMapping, out: Tensor) throws {
        throw BackendError("addLoRA: not yet on CUDA")
    }
}
