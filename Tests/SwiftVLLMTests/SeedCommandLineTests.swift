import ArgumentParser
import Foundation
import Testing
import VLLMCore
import VLLMServer
@testable import swift_vllm

/// The vLLM command lines deployments run, with `swift-vllm serve` in place of `vllm serve` /
/// `python3 -m vllm.entrypoints.openai.api_server`: every flag parses; flags vLLM has retired or that mean
/// nothing here are accepted with one warning each; unknown flags stay errors.
@Suite struct SeedCommandLineTests {
    /// The seeds' deployment (Qwen2.5-14B GPTQ-Int4 on two GPUs, fp8 KV cache, tool calls) with the flags its
    /// scripts carry from older vLLM releases.
    static let deployment = [
        "serve", "--model", "Qwen/Qwen2.5-14B-Instruct-GPTQ-Int4", "--served-model-name", "qwen2.5-14b", "--host", "0.0.0.0",
        "--port", "8000", "--api-key", "", "--tensor-parallel-size", "2", "--gpu-memory-utilization", "0.92",
        "--enable-prefix-caching", "--enable-chunked-prefill", "--kv-cache-dtype", "fp8", "--max-num-batched-tokens", "8192",
        "--max-model-len", "32768", "--block-size", "32", "--enforce-eager", "--swap-space", "16", "--num-scheduler-steps", "8",
        "--tokenizer-pool-size", "4", "--trust-remote-code", "--download-dir", "/models", "--quantization", "gptq_marlin",
        "--enable-auto-tool-choice", "--tool-call-parser", "hermes", "--disable-log-requests",
    ]
    static let embeddings = ["serve", "BAAI/bge-m3", "--task", "embed", "--served-model-name", "bge-m3", "--port", "8001", "--api-key", "sk-x"]
    static let shortForms = ["serve", "meta-llama/Meta-Llama-3-8B-Instruct", "-tp", "2", "--tokenizer", "meta-llama/Meta-Llama-3-8B-Instruct",
                             "--revision", "main", "--max-num-seqs", "256", "--dtype", "bfloat16"]

    func serve(_ arguments: [String]) throws -> ServeCommand {
        try #require(try SwiftVLLM.parseAsRoot(arguments) as? ServeCommand)
    }

    /// vLLM's ways of asking for a pooling model: --runner pooling, --convert embed|classify, and the retired
    /// --task embed|score|classify that deployments still pass; a classifier must be a cross-encoder folder.
    @Test func poolingTasksAsVLLMSpellsThem() throws {
        func pooling(_ flags: [String], _ architecture: String?) throws -> Bool {
            try serve(["serve", "m"] + flags).engine.servesPooling(architecture: architecture)
        }
        #expect(try pooling([], "XLMRobertaModel") && !pooling([], "Qwen3ForCausalLM"))
        #expect(try pooling(["--task", "embed"], "Qwen3ForCausalLM") && pooling(["--runner", "pooling", "--convert", "embed"], "Qwen3ForCausalLM"))
        for flags in [["--task", "score"], ["--task", "classify"], ["--runner", "pooling", "--convert", "classify"]] {
            #expect(try pooling(flags, "XLMRobertaForSequenceClassification"), "\(flags)")
            #expect(throws: ValidationError.self, "\(flags)") { try pooling(flags, "Qwen3ForCausalLM") }
            #expect(throws: ValidationError.self, "\(flags)") { try pooling(flags, "BertModel") }
        }
        #expect(throws: ValidationError.self) { try pooling(["--task", "reward"], "BertModel") }
        #expect(throws: ValidationError.self) { try pooling(["--task", "generate"], "BertModel") }
    }

    /// `--hf-overrides` reaches the model's folder (an overlay with the merged config.json), not a separate tokenizer's.
    @Test func hfOverridesApplyToTheModelFolder() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("hf-overrides-test-\(UInt32.random(in: 0 ... .max))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data(#"{"architectures": ["XLMRobertaModel"], "hidden_size": 8}"#.utf8).write(to: folder.appendingPathComponent("config.json"))
        let command = try serve(["serve", folder.path, "--hf-overrides", #"{"is_matryoshka": true}"#])
        let model = try #require(try await command.engine.resolveModel(folder.path))
        #expect(model != folder.path)
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: model).appendingPathComponent("config.json")))
        #expect((config as? [String: Any])?["is_matryoshka"] as? Bool == true && (config as? [String: Any])?["hidden_size"] as? Int == 8)
        #expect(try await command.engine.resolveModel(folder.path, applyOverrides: false) == folder.path)
        let bad = try serve(["serve", folder.path, "--hf-overrides", "[1]"])
        await #expect(throws: ValidationError.self) { _ = try await bad.engine.resolveModel(folder.path) }
    }

    @Test func theDeploymentsFlagsParseAndActAsVLLMs() throws {
        let command = try serve(Self.deployment)
        #expect(command.model == "Qwen/Qwen2.5-14B-Instruct-GPTQ-Int4")
        #expect(try command.serverConfig().apiKeys.isEmpty, "an empty --api-key means no key")
        let args = try command.engine.engineArgs(model: nil)
        #expect(args.tensorParallelSize == 2 && args.kvCacheDType == .float8E4M3 && args.blockSize == 32 && args.enforceEager)
        #expect(args.maxNumBatchedTokens == 8192 && args.maxModelLen == 32768 && args.quantization == "gptq_marlin")
        #expect(command.engine.downloadDir == "/models")
        let warnings = command.engine.ignoredFlagWarnings
        #expect(warnings.count == 4)
        for flag in ["--swap-space", "--num-scheduler-steps", "--tokenizer-pool-size", "--trust-remote-code"] {
            #expect(warnings.contains { $0.hasPrefix(flag) }, "\(flag) warns")
        }
    }

    @Test func embeddingAndShortFormLinesParse() throws {
        let embed = try serve(Self.embeddings)
        #expect(embed.engine.task == "embed" && embed.model == "BAAI/bge-m3")
        #expect(try embed.serverConfig().apiKeys == ["sk-x"])
        let short = try serve(Self.shortForms)
        #expect(short.engine.tensorParallelSize == 2 && short.engine.revision == "main" && short.engine.ignoredFlagWarnings.isEmpty)
    }

    /// `-pp` / `--pipeline-parallel-size` reach the engine with `-tp`; CPU ranks (stage by stage, vLLM's order) come
    /// with both groups; on CUDA it is refused before any GPU is touched.
    @Test func pipelineParallelFlags() throws {
        let short = try serve(["serve", "m", "-pp", "2", "-tp", "2", "--device", "cpu"])
        let args = try short.engine.engineArgs(model: nil)
        #expect(args.pipelineParallelSize == 2 && args.tensorParallelSize == 2)
        let devices = try short.engine.makeDevices()
        #expect(devices.backends.count == 4 && devices.tensorParallelSize == 2 && devices.pipelineParallelSize == 2)
        #expect((0..<4).map { devices.pipelineStage($0).stage } == [0, 0, 1, 1])
        #expect((0..<4).map { devices.tensorParallelRank($0).rank } == [0, 1, 0, 1])
        #expect(try serve(["serve", "m", "--pipeline-parallel-size", "3"]).engine.engineArgs(model: nil).pipelineParallelSize == 3)
        #expect {
            _ = try serve(["serve", "m", "-pp", "2", "--device", "cuda"]).engine.makeDevices()
        } throws: { "\($0)".contains("--pipeline-parallel-size 2: pipeline parallelism is built for --device cpu only so far") }
        #expect(throws: ValidationError.self) { _ = try serve(["serve", "m", "-pp", "0"]).engine.engineArgs(model: nil) }
    }

    /// vLLM's VLLM_PP_LAYER_PARTITION ("12,20"): each stage's layers, read as vLLM reads it (int() of each comma-separated
    /// part, spaces allowed); unset or empty: the even split; anything else an error naming the variable and the string.
    @Test func layerPartitionParsesAsVLLMs() throws {
        #expect(try EngineOptions.layerPartition("12,20") == [12, 20])
        #expect(try EngineOptions.layerPartition(" 4, 6,6 ,4") == [4, 6, 6, 4])
        #expect(try EngineOptions.layerPartition(nil) == nil)
        #expect(try EngineOptions.layerPartition("") == nil)
        for bad in ["4,,6", "a,b", "4;6", "4,6,"] {
            #expect {
                _ = try EngineOptions.layerPartition(bad)
            } throws: { "\($0)".contains("VLLM_PP_LAYER_PARTITION: invalid partition string: \(bad)") }
        }
    }

    /// vLLM's LoRA flags: the engine's (--enable-lora, --max-loras, --max-lora-rank, --max-cpu-loras, and
    /// --lora-dtype / --fully-sharded-loras accepted) and the server's --lora-modules, both of its forms.
    static let lora = [
        "serve", "meta-llama/Llama-3.1-8B-Instruct", "--served-model-name", "llama", "--enable-lora", "--max-loras", "4",
        "--max-lora-rank", "64", "--max-cpu-loras", "8", "--lora-dtype", "bfloat16", "--fully-sharded-loras",
        "--lora-modules", "sql-lora=/adapters/sql", #"{"name": "chat", "path": "/adapters/chat", "base_model_name": "llama"}"#,
        "--port", "8002",
    ]

    @Test func loraFlagsParseAsVLLMs() throws {
        let command = try serve(Self.lora)
        let args = try command.engine.engineArgs(model: nil)
        #expect(args.enableLoRA && args.maxLoras == 4 && args.maxLoRARank == 64 && args.maxCPULoras == 8)
        #expect(command.engine.loraDType == "bfloat16" && command.engine.fullyShardedLoras)
        var config = try command.serverConfig()
        #expect(config.loraModules == [LoRAModulePath(name: "sql-lora", path: "/adapters/sql"),
                                       LoRAModulePath(name: "chat", path: "/adapters/chat", baseModelName: "llama")])
        #expect(config.maxLoras == 4 && config.port == 8002)
        try command.lora.apply(to: &config, engine: command.engine, environment: ["VLLM_ALLOW_RUNTIME_LORA_UPDATING": "True"])
        #expect(config.allowRuntimeLoRAUpdating)
        try command.lora.apply(to: &config, engine: command.engine, environment: [:])
        #expect(!config.allowRuntimeLoRAUpdating)

        // Defaults: off, one slot of rank 16; --max-cpu-loras 0 or less is unset.
        let plain = try serve(["serve", "m", "--max-cpu-loras", "-1"])
        let plainArgs = try plain.engine.engineArgs(model: nil)
        #expect(!plainArgs.enableLoRA && plainArgs.maxLoras == 1 && plainArgs.maxLoRARank == 16 && plainArgs.maxCPULoras == nil)
        #expect(try plain.serverConfig().maxLoras == nil)
        #expect(try serve(["serve", "m", "--enable-lora", "--no-enable-lora"]).engine.enableLoRA == false)

        func refusal(_ arguments: [String]) -> String {
            do {
                _ = try SwiftVLLM.parseAsRoot(arguments)
                return "parsed"
            } catch {
                return SwiftVLLM.message(for: error)
            }
        }
        #expect(refusal(["serve", "m", "--lora-modules", "a=/x"]) == "LoRA is not enabled. Use --enable-lora to enable LoRA.")
        #expect(refusal(["serve", "m", "--max-lora-rank", "7"])
                == "argument --max-lora-rank: invalid choice: 7 (choose from 1, 8, 16, 32, 64, 128, 256, 320, 512)")
        #expect(refusal(["serve", "m", "--lora-dtype", "float32"])
                == "argument --lora-dtype: invalid choice: 'float32' (choose from 'auto', 'bfloat16', 'float16')")
        #expect(refusal(["serve", "m", "--enable-lora", "--lora-modules", "sql"]) == "Invalid JSON format for --lora-modules: sql")
        #expect(refusal(["run-batch", "-i", "in", "-o", "out", "--lora-modules", "a=/x"]) == "LoRA is not enabled. Use --enable-lora to enable LoRA.")
        #expect(refusal(["generate", "--lora", "/adapters/sql"]) == "LoRA is not enabled. Use --enable-lora to enable LoRA.")
        let generate = try #require(try SwiftVLLM.parseAsRoot(["generate", "--enable-lora", "--lora", "/adapters/sql"]) as? GenerateCommand)
        #expect(generate.loraRequest == LoRARequest(name: "sql", id: 1, path: "/adapters/sql"))
    }

    @Test func unknownFlagsStayErrors() {
        #expect(throws: (any Error).self) { _ = try SwiftVLLM.parseAsRoot(["serve", "--no-such-flag"]) }
        #expect(throws: (any Error).self) { _ = try SwiftVLLM.parseAsRoot(["serve", "--pipeline-parallel-size"]) }
    }
}
