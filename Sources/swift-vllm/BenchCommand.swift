import ArgumentParser
import Foundation
import VLLMCompute
import VLLMCore
import VLLMCUDA
import VLLMEngine
import VLLMGPUCheck
import VLLMTokenizers

/// `swift-vllm bench`: the workloads of ../shared/bench (W1 latency, W2 throughput), as vLLM's
/// `benchmark_latency` / `benchmark_throughput` define them: random prompt ids, greedy, EOS ignored.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks: throughput (W2), latency (W1), structured outputs' grammar cost, embeddings; load and answer quality of any OpenAI server.",
        subcommands: [Throughput.self, Latency.self, Grammar.self, Embed.self, BenchServeCommand.self, BenchQualityCommand.self])

    /// Random prompts of exact lengths, from a seeded generator (token ids 10…vocab-1).
    static func randomPrompts(count: Int, length: Int, vocabSize: Int, seed: UInt64) -> [[Int]] {
        var state = seed
        return (0..<count).map { _ in
            (0..<length).map { _ in
                state = SamplingRandom.mix(state)
                return 10 + Int(state % UInt64(max(vocabSize - 10, 1)))
            }
        }
    }

    static func greedy(outputLen: Int) -> SamplingParams {
        var p = SamplingParams()
        p.temperature = 0
        p.maxTokens = outputLen
        p.ignoreEos = true
        p.detokenize = false
        return p
    }

    static func printJSON(_ fields: [String: Any]) {
        let data = try! JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }

    struct Throughput: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Offline throughput: all prompts at once (W2: 256 × 512 in / 128 out).")
        @Option(help: "Model folder (with --load-format dummy, only config.json is read).") var model: String?
        @Option(name: .customLong("input-len")) var inputLen = 512
        @Option(name: .customLong("output-len")) var outputLen = 128
        @Option(name: .customLong("num-prompts")) var numPrompts = 256
        @Option(name: .customLong("lengths-file"),
                help: "W3: a JSON file of {\"requests\": [{\"input_len\", \"output_len\"}]} (../shared/bench/w3_lengths.json).")
        var lengthsFile: String?
        @Option(name: .customLong("length-scale"), help: "Multiply every W3 length by this (to scale W3 down for the CPU).")
        var lengthScale = 1.0
        @Flag(help: "CUDA: time every op of the whole run (an event after each; idle gaps count to the op after them) and print the totals.")
        var profile = false
        @Option(name: .customLong("structured-output-json"),
                help: "Every request constrained by this JSON Schema file (structured outputs; EOS then ends a request whose JSON is complete). The tokenizer: --tokenizer, else the model folder's, else the demo model's.")
        var structuredOutputJSON: String?
        @Option(name: .customLong("lora-adapters"), parsing: .upToNextOption,
                help: "Adapter folders (with --enable-lora): request i runs adapter i % count (scripts/make_lora_bench_adapters.py).")
        var loraAdapters: [String] = []
        @OptionGroup var engine: EngineOptions

        /// (input, output) lengths of every request: W2's fixed ones, or the W3 file's (first `numPrompts`).
        func lengths() throws -> [(input: Int, output: Int)] {
            guard let lengthsFile else { return Array(repeating: (inputLen, outputLen), count: numPrompts) }
            struct File: Decodable { struct Item: Decodable { var input_len: Int; var output_len: Int }; var requests: [Item] }
            let file = try JSONDecoder().decode(File.self, from: Data(contentsOf: URL(fileURLWithPath: lengthsFile)))
            return file.requests.prefix(numPrompts).map {
                (max(1, Int(Double($0.input_len) * lengthScale)), max(1, Int(Double($0.output_len) * lengthScale)))
            }
        }

        func run() throws {
            let model = try engine.resolveModelBlocking(self.model)
            let lengths = try lengths()
            let loadStart = Date()
            var schema: String?
            var detokenizer: Tokenizer?
            if let structuredOutputJSON {
                schema = try String(contentsOfFile: structuredOutputJSON, encoding: .utf8)
                if let folder = try engine.resolveModelBlocking(engine.tokenizer, applyOverrides: false) ?? model {
                    detokenizer = try Tokenizer.load(modelDirectory: URL(fileURLWithPath: folder))
                } else {
                    detokenizer = try EngineArgs.demoTokenizer()
                }
            }
            let llm = try LLM(args: try engine.engineArgs(model: model, draftModel: try engine.resolveDraftModelBlocking()), devices: try engine.makeOfflineDevices(), detokenizer: detokenizer)
            let loadSeconds = Date().timeIntervalSince(loadStart)
            let vocab = llm.engine.config.vocabSize
            let prompts = lengths.enumerated().map { i, l in
                BenchCommand.randomPrompts(count: 1, length: l.input, vocabSize: vocab, seed: engine.seed &+ UInt64(i))[0]
            }
            // Adapters are read and put in their slots before the clock starts, as the peer's warm-up does for vLLM's
            // (more adapters than slots swap during the run, as they would in vLLM).
            let adapters = loraAdapters.enumerated().map { LoRARequest(name: "lora\($0.offset)", id: $0.offset + 1, path: $0.element) }
            for adapter in adapters { try llm.core.addLoRA(adapter) }
            if let slots = llm.core.runner.loras?.capacity.maxLoras, !adapters.isEmpty {
                _ = try llm.core.runner.activateLoRAs(Set(adapters.prefix(slots)))
            }
            let gpu = profile ? llm.core.runner.model.backend as? CUDABackend : nil
            try gpu?.startProfiling()
            llm.core.runner.startStepGPUTimes()
            let start = Date()
            let params = lengths.map { length in
                var p = BenchCommand.greedy(outputLen: length.output)
                if let schema {
                    p.structuredOutputs = .json(schema)
                    p.ignoreEos = false
                }
                return p
            }
            let outputs = try llm.generate(prompts, params: params,
                                           loras: adapters.isEmpty ? nil : prompts.indices.map { adapters[$0 % adapters.count] })
            let seconds = Date().timeIntervalSince(start)
            if let gpu { FileHandle.standardError.write(Data((ModelCheck.byOp(try gpu.stopProfiling()) + "\n").utf8)) }
            let generated = outputs.reduce(0) { $0 + $1.outputs[0].tokenIds.count }
            let promptTokens = lengths.reduce(0) { $0 + $1.input }
            var gpuTimes: [String: Any] = [:]
            if let times = try llm.core.runner.stepGPUTimes() {
                gpuTimes["gpu_idle_ms"] = times.idleMilliseconds
                gpuTimes["gpu_ms_by_step"] = times.byKind.mapValues { ["steps": $0.steps, "ms": $0.milliseconds, "tokens": $0.tokens] }
            }
            BenchCommand.printJSON(gpuTimes.merging([
                "workload": (lengthsFile == nil ? "throughput" : "throughput-w3") + (schema == nil ? "" : "-structured")
                    + (adapters.isEmpty ? "" : "-lora\(adapters.count)"),
                "num_prompts": lengths.count,
                "prompt_tokens": promptTokens, "output_tokens": generated,
                "elapsed_s": seconds, "requests_per_s": Double(lengths.count) / seconds,
                "output_tokens_per_s": Double(generated) / seconds,
                "total_tokens_per_s": Double(generated + promptTokens) / seconds,
                "load_s": loadSeconds, "backend": llm.core.runner.model.backend.name,
                "steps": llm.core.stepTimings.steps, "host_ms_per_step": llm.core.stepTimings.millisecondsPerStep(),
                "max_num_seqs": llm.engine.schedulerConfig.maxNumSeqs,
                "max_num_batched_tokens": llm.engine.schedulerConfig.maxNumBatchedTokens,
                "decode_graphs": llm.core.runner.decodeGraphStats.count,
                "graph_capture_s": llm.core.runner.decodeGraphStats.captureSeconds,
            ]) { $1 })
        }
    }

    struct Latency: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One request (W1: 512 in / 128 out): time to first token and per output token.")
        @Option(help: "Model folder (with --load-format dummy, only config.json is read).") var model: String?
        @Option(name: .customLong("input-len")) var inputLen = 512
        @Option(name: .customLong("output-len")) var outputLen = 128
        @Option(name: .customLong("num-iters")) var numIters = 3
        @Flag(name: .customLong("self-repeating-prompt"),
              help: "A prompt n-gram lookup can hit (speculative decoding): random ids R (a quarter of --input-len), the model's own greedy continuation C of R (--output-len tokens), then R again: R + C + R.")
        var selfRepeatingPrompt = false
        @Option(name: .customLong("save-prompt-ids"), help: "Write the prompt's token ids here (a JSON list), e.g. to give a peer the same prompt.")
        var savePromptIds: String?
        @Option(name: .customLong("prompt-ids-file"), help: "The prompt: a JSON list of token ids (instead of random ids of --input-len).")
        var promptIdsFile: String?
        @OptionGroup var engine: EngineOptions

        func run() throws {
            let model = try engine.resolveModelBlocking(self.model)
            let llm = try LLM(args: try engine.engineArgs(model: model, draftModel: try engine.resolveDraftModelBlocking()), devices: try engine.makeOfflineDevices())
            var prompt = BenchCommand.randomPrompts(count: 1, length: inputLen, vocabSize: llm.engine.config.vocabSize, seed: engine.seed)
            if let promptIdsFile {
                guard let ids = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: promptIdsFile))) as? [Int],
                    !ids.isEmpty
                else { throw ValidationError("--prompt-ids-file \(promptIdsFile): not a JSON list of token ids") }
                prompt = [ids]
            } else if selfRepeatingPrompt {
                let head = Array(prompt[0].prefix(max(1, inputLen / 4)))
                let continuation = try llm.generate([head], params: [BenchCommand.greedy(outputLen: outputLen)])[0].outputs[0].tokenIds
                prompt = [head + continuation + head]
            }
            if let savePromptIds {
                try JSONSerialization.data(withJSONObject: prompt[0]).write(to: URL(fileURLWithPath: savePromptIds))
            }
            _ = try llm.generate(prompt, params: [BenchCommand.greedy(outputLen: 2)])  // warm-up
            var ttfts: [Double] = [], tpots: [Double] = [], stepTimes: [Double] = []
            let specBefore = llm.core.stats().specDecoding
            for _ in 0..<numIters {
                let stepsBefore = llm.core.stepTimings.steps
                let output = try llm.generate(prompt, params: [BenchCommand.greedy(outputLen: outputLen)])[0]
                let m = output.metrics
                let ttft = (m.firstTokenTime ?? m.arrivalTime) - m.arrivalTime
                let decode = (m.finishedTime ?? 0) - (m.firstTokenTime ?? 0)
                ttfts.append(ttft)
                tpots.append(decode / Double(max(outputLen - 1, 1)))
                // Steps after the first token's (the prompt's): plain decodes, or verifications of draft tokens.
                stepTimes.append(decode / Double(max(llm.core.stepTimings.steps - stepsBefore - 1, 1)))
            }
            var fields: [String: Any] = [
                "workload": "latency", "input_len": prompt[0].count, "output_len": outputLen, "num_iters": numIters,
                "ttft_ms_median": ttfts.sorted()[numIters / 2] * 1000, "tpot_ms_median": tpots.sorted()[numIters / 2] * 1000,
                "ms_per_decode_step_median": stepTimes.sorted()[numIters / 2] * 1000,
                "backend": llm.core.runner.model.backend.name,
            ]
            if let before = specBefore, let run = llm.core.stats().specDecoding?.subtracting(before) {
                fields["spec_decode_num_drafts"] = run.numDrafts
                fields["spec_decode_acceptance_rate"] = run.acceptanceRate
                fields["spec_decode_acceptance_length"] = run.meanAcceptanceLength
            }
            BenchCommand.printJSON(fields)
        }
    }
}
