import FoundationEssentials
import VLLMCompute
import VLLMCUDA
import VLLMEngine
import VLLMModels

/// `check-gpu --quantized-goldens`: the tiny checkpoints scripts/make_quant_goldens.py wrote with the reference tools
/// (Tests/VLLMModelsTests/Goldens/quantized), loaded from their files onto the GPU — 4-bit ints packed for
/// linear_int4, fp8 kept e4m3 for linear_fp8 / cuBLASLt's FP8 GEMM — and each prompt's last logits compared with
/// transformers' on the tools' own dequantization (the reference the CPU matches within 1e-4).
///
/// These small random models amplify bf16 rounding (as the LoRA check found of PEFT's): the same checkpoint
/// dequantized to bf16 at load, through the GPU's dense path, lands up to ~0.08 from the f32 reference. So that
/// baseline is measured in the same run, and the quantized kernels may be 3× as far (as the LoRA check allows
/// against PEFT's own bf16 run), 3e-2 in any case. Prompts run in chunks of 8 tokens, so every linear takes the
/// decode kernels (linear_int4_small, linear_fp8_small), whose activations stay bf16: larger steps quantize the
/// activations of an fp8 linear to e4m3 (W8A8, as vLLM), which these models amplify to 0.1–0.3 — that path is
/// checked op by op, against x quantized the same way (OpChecker.fp8Linears). Each runs with decode graphs and
/// eagerly.
public enum QuantizedGoldenCheck {
    /// The folders, and the `--quantization` flag each runs with (online-fp8 is a float checkpoint run as fp8).
    static let formats: [(name: String, flag: String?)] = [
        ("gptq-4bit-g32-sym", nil), ("gptq-4bit-g64-actorder-asym", nil), ("gptq-8bit-channel-sym", nil), ("awq-4bit-g64", nil),
        ("ct-w4a16-group-sym", nil), ("ct-w4a16-group-asym", nil), ("ct-w8a16-channel", nil), ("ct-w8a8-int8", nil),
        ("ct-fp8-dynamic", nil), ("ct-fp8-block", nil), ("fp8-tensor-static", nil), ("fp8-block", nil), ("online-fp8", "fp8"),
    ]

    struct Golden: Decodable {
        struct Prompt: Decodable {
            var prompt_token_ids: [Int32]
            var last_logits: [Float]
        }
        var prompts: [Prompt]
    }

    /// One row per format and prompt whose layers the backend's quantized kernels take: the relative error
    /// (‖Δ‖ / ‖reference‖) of the GPU's last logits, and the dense bf16 run's beside it.
    public static func run(gpu: CUDABackend, goldens: URL) throws -> [OpCheckResult] {
        var results: [OpCheckResult] = []
        for (name, flag) in formats {
            let folder = goldens.appendingPathComponent("quantized/\(name)")
            do {
                let golden = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: folder.appendingPathComponent("golden.json")))
                var config = try ModelConfig.load(modelDirectory: folder)
                config.quantization = try QuantizationConfig.resolve(checkpoint: config.quantization, flag: flag)
                func lastLogits(quantizedKernels: Bool, eager: Bool = false) throws -> (kind: String, logits: [[Float]]) {
                    let model = try ModelRegistry.load(config: config, directory: folder, backend: gpu, quantizedKernels: quantizedKernels)
                    let runner = try ModelRunner(models: [model], numBlocks: 64, blockSize: 16, maxNumBatchedTokens: 256, maxNumSeqs: 4,
                                                 enforceEager: eager)
                    defer {
                        if let reason = runner.decodeGraphStats.disabledReason { print("quantized golden \(name): \(reason)") }
                    }
                    var greedy = SamplingRow()
                    greedy.temperature = 0
                    let logits = try golden.prompts.map { prompt in
                        let ids = prompt.prompt_token_ids
                        let blocks = (0..<Int32((ids.count + 15) / 16)).map { $0 }
                        var start = 0
                        while ids.count - start > 8 {
                            _ = try runner.logits([StepSequence(tokenIds: Array(ids[start ..< start + 8]), numComputedTokens: start,
                                                                blockIds: blocks, sampling: nil)])
                            start += 8
                        }
                        return try runner.logits([StepSequence(tokenIds: Array(ids[start...]), numComputedTokens: start,
                                                               blockIds: blocks, sampling: greedy)])[0]
                    }
                    return ((model as? LlamaModel)?.decoderLinearKind ?? "?", logits)
                }
                let quantized = try lastLogits(quantizedKernels: true)
                guard quantized.kind != "dense" else { continue }  // nothing but the dense path to check
                let eager = try lastLogits(quantizedKernels: true, eager: true)
                let dense = try lastLogits(quantizedKernels: false)
                for (index, prompt) in golden.prompts.enumerated() {
                    let baseline = relativeError(dense.logits[index], prompt.last_logits)
                    for (logits, how) in [(quantized.logits[index], ""), (eager.logits[index], ", eager")] {
                        var result = OpCheckResult(op: "quantized golden",
                                                   shape: "\(name) (\(quantized.kind)\(how)), prompt of \(prompt.prompt_token_ids.count)",
                                                   error: relativeError(logits, prompt.last_logits), tolerance: max(3e-2, 3 * baseline))
                        result.note = "dense bf16 \(formatScientific(baseline))"
                        results.append(result)
                    }
                }
            } catch {
                var failed = OpCheckResult(op: "quantized golden", shape: name, error: .nan, tolerance: 3e-2)
                failed.note = "\(error)"
                results.append(failed)
            }
        }
        return results
    }
}
