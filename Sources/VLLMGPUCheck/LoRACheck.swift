import FoundationEssentials
import VLLMCompute
import VLLMCore
import VLLMCUDA
import VLLMEngine
import VLLMModels

/// Multi-LoRA end to end on the GPU: the tiny Llama and Qwen2 models with their PEFT adapters
/// (scripts/make_lora_goldens.py) — every case of a model, base and adapters, in one step, each row's logits
/// against PEFT's merged model (f32); then the whole engine, greedy, with decode graphs replaying the LoRA kernels.
///
/// With f32 activations the GPU must match PEFT to 1e-3 and its greedy tokens exactly. With bf16 ones these small
/// models with large random weights amplify rounding — PEFT itself, run in bf16, lands up to 0.11 from its f32
/// logits (the goldens' `bf16_error`) — so a row may be 3× as far as PEFT's bf16 run (at least 2e-2), and the
/// greedy tokens equal to PEFT's are counted, not required.
public enum LoRACheck {
    struct Golden: Decodable {
        struct Case: Decodable {
            var model: String
            var adapter: String?
            var prompt_index: Int
            var last_logits: [Float]
            var greedy_token_ids: [Int]
            var bf16_error: Float
        }
        var prompts: [[Int]]
        var cases: [Case]
    }

    /// `goldens`: Tests/VLLMModelsTests/Goldens (the models, and lora/ beside them). `devices`: one GPU, or one per
    /// tensor-parallel rank with its communicator (each rank holds its share of every adapter).
    public static func run(devices: EngineDevices, goldens: URL) throws -> [OpCheckResult] {
        let exact = devices.backends[0].activationDType == .float32
        let dtype = (exact ? "f32" : "bf16") + (devices.backends.count > 1 ? " tp\(devices.backends.count)" : "")
        let lora = goldens.appending(path: "lora")
        let golden = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: lora.appending(path: "golden.json")))
        var results: [OpCheckResult] = []
        // The third: a 4-bit base (compressed-tensors W4A16), its linears on the int4 kernels.
        for model in ["llama", "qwen2", "quantized/ct-w4a16-group-sym"] {
            let cases = golden.cases.filter { $0.model == model }
            let names = Array(Set(cases.compactMap(\.adapter))).sorted()
            func request(_ name: String) -> LoRARequest {
                LoRARequest(name: name, id: names.firstIndex(of: name)! + 1, path: lora.appending(path: name).path)
            }
            var args = EngineArgs(model: goldens.appending(path: model))
            args.enableLoRA = true
            args.maxLoras = names.count
            args.numGPUBlocksOverride = 512
            args.maxNumSeqs = 64
            args.maxNumBatchedTokens = 1024
            args.tensorParallelSize = devices.backends.count
            let llm = try LLM(args: args, devices: devices)
            let runner = llm.core.runner
            let slots = try runner.activateLoRAs(Set(names.map(request)))
            var nextBlock: Int32 = 0
            let sequences = cases.map { c -> StepSequence in
                let prompt = golden.prompts[c.prompt_index]
                let blocks = Int32((prompt.count + 15) / 16)
                defer { nextBlock += blocks }
                return StepSequence(tokenIds: prompt.map(Int32.init), numComputedTokens: 0, blockIds: (0..<blocks).map { nextBlock + $0 },
                                    sampling: SamplingRow(), loraSlot: c.adapter.map { slots[request($0).id]! })
            }
            for (c, row) in zip(cases, try runner.logits(sequences)) {
                results.append(OpCheckResult(op: "LoRA \(model) \(dtype) logits", shape: "\(c.adapter ?? "base"), prompt \(c.prompt_index)",
                                             error: relativeError(row, c.last_logits), tolerance: exact ? 1e-3 : max(2e-2, 3 * c.bf16_error)))
            }
            // Three copies of every case at once, greedy (decode steps as graphs), each stopping after 10 to 16 tokens, so
            // the batch shrinks step by step inside one graph's shape while the pending tokens' count changes.
            let batch = Array(repeating: cases, count: 3).flatMap { $0 }
            let lengths = batch.indices.map { 16 - $0 % 7 }
            let params = lengths.map { length in
                var params = SamplingParams()
                params.temperature = 0
                params.maxTokens = length
                params.ignoreEos = true
                return params
            }
            let outputs = try llm.generate(batch.map { golden.prompts[$0.prompt_index] }, params: params,
                                           loras: batch.map { $0.adapter.map(request) })
            let equal = batch.indices.filter { Array(batch[$0].greedy_token_ids.prefix(lengths[$0])) == outputs[$0].outputs[0].tokenIds }.count
            let note = "\(equal) of \(batch.count) equal PEFT's tokens; decode graphs: \(runner.decodeGraphStats.count)"
            if exact {
                var result = OpCheckResult(op: "LoRA \(model) \(dtype) greedy", shape: "\(batch.count) requests × 10–16 tokens",
                                           error: Float(batch.count - equal), tolerance: 0)
                result.note = note
                results.append(result)
            } else {
                print("LoRA \(model) \(dtype) greedy: \(note)")
            }
            let stats = llm.core.stats()
            results.append(OpCheckResult(op: "LoRA \(model) \(dtype) blocks", shape: "free after the batch",
                                         error: Float(stats.numTotalBlocks - stats.numFreeBlocks), tolerance: 0))
        }
        return results
    }
}
