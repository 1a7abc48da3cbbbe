import ArgumentParser
import Foundation
import VLLMEngine
import VLLMServer
import VLLMTemplates
import VLLMTokenizers

/// Builds what `serve` and `run-batch` hand the server: the engine on its backend, the model's
/// tokenizer and chat template, its names and sampling defaults.
struct ServeEngine {
    let model: ServedModel
    /// The most requests worth having in flight at once (run-batch's concurrency).
    let maxNumSeqs: Int
    /// Stops the engine's loop thread.
    let shutdown: @Sendable () -> Void

    /// - Parameters:
    ///   - chatTemplate: `--chat-template`, a file path or the template text itself.
    ///   - generationConfig: `auto` (the model's generation_config.json) or `vllm` (none).
    ///   - name: the model as the user gave it (a hub id names the model, not its cache folder).
    ///   - tokenizerPath: `--tokenizer`'s folder, resolved (default: the model's).
    ///   - draftModel: `--speculative-config`'s draft model folder, resolved (`EngineOptions.resolveDraftModel`).
    static func make(
        model path: String?, name: String?, tokenizerPath: String?, draftModel: String? = nil, options: EngineOptions,
        servedModelNames: [String],
        chatTemplate: String?, generationConfig: String
    ) throws -> ServeEngine {
        guard ["auto", "vllm"].contains(generationConfig) else {
            throw ValidationError("--generation-config '\(generationConfig)' is not supported; use auto or vllm")
        }
        let directory = path.map { URL(fileURLWithPath: $0) }
        let tokenizerDirectory = tokenizerPath.map { URL(fileURLWithPath: $0) } ?? directory
        let tokenizer: any TextTokenizer & DetokenizerFactory
        var specialTokens: [String: TemplateValue] = [:]
        if let tokenizerDirectory {
            do {
                tokenizer = HFTokenizerAdapter(tokenizer: try Tokenizer.load(modelDirectory: tokenizerDirectory))
            } catch {
                throw ValidationError("cannot load the tokenizer of \(tokenizerDirectory.path): \(error)")
            }
            if let config = try? ChatTemplate.tokenizerConfig(modelDirectory: tokenizerDirectory) {
                specialTokens = ChatTemplate.specialTokens(config)
            }
        } else {
            tokenizer = HFTokenizerAdapter(tokenizer: try EngineArgs.demoTokenizer())
            log("the demo model's tokenizer is one token per UTF-8 byte; its output is noise")
        }
        var args = try options.engineArgs(model: path, draftModel: draftModel)
        args.usageContext = .openAIServer
        let root = name ?? path ?? "demo-model"
        let names = servedModelNames.isEmpty ? [root] : servedModelNames
        let architecture = directory.flatMap { try? ModelConfigPeek.architecture(of: $0) }
        let servesPooling = try options.servesPooling(architecture: architecture)
        if options.poolerConfig != nil, !servesPooling {
            throw ValidationError("--pooler-config applies to pooling models (--task embed, or an encoder's folder)")
        }
        if servesPooling, options.enableLoRA {
            throw ValidationError("--enable-lora: LoRA adapters are served for generation models; this model serves pooling")
        }
        if servesPooling, let directory {
            let embedder = try EmbeddingEngine.load(
                directory: directory, backend: try options.makeBackend(), format: args.loadFormat, dtype: args.dtype,
                maxNumBatchedTokens: args.maxNumBatchedTokens ?? 16384, maxModelLen: args.maxModelLen,
                poolerConfig: options.poolerConfig, modelName: names[0])
            if embedder.isCrossEncoder {
                log("cross-encoder \(architecture ?? ""): \(embedder.dimensions) label(s), pairs of up to \(embedder.maxModelLen) "
                    + "tokens; /score and /rerank")
            } else {
                log("pooling model \(architecture ?? ""): \(embedder.poolingConfig.method.rawValue) pooling, "
                    + (embedder.poolingConfig.normalize ? "normalized, " : "")
                    + "\(embedder.poolingConfig.dimensions ?? embedder.dimensions) dimensions, inputs of up to "
                    + "\(embedder.maxModelLen) tokens; /v1/embeddings, /pooling, /score and /rerank")
            }
            let model = ServedModel(
                engine: NoGenerationEngine(maxModelLen: embedder.maxModelLen), tokenizer: tokenizer, chatRenderer: nil,
                names: names, root: root, embedder: embedder)
            return ServeEngine(model: model, maxNumSeqs: 256, shutdown: { embedder.shutdown() })
        }
        let renderer: (any ChatRenderer)?
        do {
            renderer = try chatRenderer(
                directory: tokenizerDirectory, override: chatTemplate, specialTokens: specialTokens)
        } catch {
            throw ValidationError("--chat-template: \(error)")
        }
        let built = try (0..<options.dataParallelSize).map { replica in
            if options.dataParallelSize > 1 { log("data parallel: loading engine replica \(replica) of \(options.dataParallelSize)") }
            return try args.build(devices: try options.makeDevices(replica: replica))
        }
        let loaded = built[0]
        // A replica whose tensor-parallel group failed cannot run again: say why and stop the server (its drain ends
        // what other replicas have in flight), as vLLM's server exits when an engine dies.
        let replicas = built.map {
            AsyncEngine(engine: $0, detokenizer: tokenizer, onDead: { error in
                FileHandle.standardError.write(Data("ERROR the engine stopped: \(error); shutting the server down\n".utf8))
                kill(getpid(), SIGTERM)
            })
        }
        let dataParallel = replicas.count > 1 ? DataParallelEngine(replicas: replicas) : nil
        let engine: any EngineClient = dataParallel ?? replicas[0]
        var defaults = DefaultSamplingParams()
        if generationConfig == "auto" {
            let config = loaded.generationConfig
            defaults = DefaultSamplingParams(
                temperature: config.temperature, topP: config.topP, topK: config.topK, minP: config.minP,
                repetitionPenalty: config.repetitionPenalty, maxTokens: config.maxNewTokens)
        }
        let model = ServedModel(
            engine: engine, tokenizer: tokenizer, chatRenderer: renderer, names: names, root: root, defaults: defaults)
        return ServeEngine(model: model, maxNumSeqs: dataParallel?.maxNumSeqs ?? replicas[0].maxNumSeqs,
                           shutdown: { for replica in replicas { replica.shutdown() } })
    }

    /// `--chat-template` (a path, else the text), else the model's own, else none; the demo model
    /// gets ChatML.
    static func chatRenderer(directory: URL?, override: String?, specialTokens: [String: TemplateValue]) throws
        -> (any ChatRenderer)?
    {
        if let override {
            let source: String
            if FileManager.default.fileExists(atPath: override) {
                source = try String(contentsOfFile: override, encoding: .utf8)
            } else if override.contains("{%") || override.contains("{{") {
                source = override
            } else {
                throw ValidationError("'\(override)' is neither a readable file nor a Jinja template")
            }
            return TemplateRenderer(template: try ChatTemplate(source: source, specialTokens: specialTokens))
        }
        guard let directory else {
            return TemplateRenderer(template: try ChatTemplate(source: TemplateRenderer.demoSource))
        }
        do {
            return TemplateRenderer(template: try ChatTemplate.load(modelDirectory: directory))
        } catch {
            log("no chat template: /v1/chat/completions will answer 400 (\(error))")
            return nil
        }
    }

    /// config.json's first architecture, read without validating the rest (generation and pooling models
    /// have different configs).
    enum ModelConfigPeek {
        static func architecture(of directory: URL) throws -> String? {
            struct Peek: Decodable { var architectures: [String]? }
            let data = try Data(contentsOf: directory.appendingPathComponent("config.json"))
            return try JSONDecoder().decode(Peek.self, from: data).architectures?.first
        }
    }

    static func log(_ message: String) {
        FileHandle.standardError.write(Data("INFO \(message)\n".utf8))
    }
}
