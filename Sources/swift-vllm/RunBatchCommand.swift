import ArgumentParser
import Foundation
import Logging
import VLLMServer

/// `swift-vllm run-batch -i IN.jsonl -o OUT.jsonl --model DIR`: OpenAI's batch file format, as
/// vLLM's `run_batch`, through the same endpoints `serve` answers.
struct RunBatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run-batch",
        abstract: "Run a file of OpenAI batch requests (JSONL) and write their responses (JSONL).")

    @Option(name: [.customShort("i"), .customLong("input-file")], help: "Input JSONL: {custom_id, method, url, body} per line.")
    var inputFile: String
    @Option(name: [.customShort("o"), .customLong("output-file")], help: "Output JSONL: {id, custom_id, response, error} per line.")
    var outputFile: String
    @Option(help: "HuggingFace model folder (default: the built-in random-weight demo model).")
    var model: String?
    @Option(name: .customLong("served-model-name"), parsing: .upToNextOption, help: "Names requests may use for the model.")
    var servedModelName: [String] = []
    @Option(name: .customLong("chat-template"), help: "Chat template: a file path or the template itself.")
    var chatTemplate: String?
    @Option(name: .customLong("generation-config"), help: "auto (the model's generation_config.json) or vllm.")
    var generationConfig: String = "auto"
    @Option(name: .customLong("response-role"), help: "The role of generated chat messages.")
    var responseRole: String = "assistant"
    @OptionGroup var lora: LoRAModulesOption
    @OptionGroup var engine: EngineOptions

    func validate() throws {
        try lora.check(enableLoRA: engine.enableLoRA)
    }

    func run() async throws {
        guard let data = FileManager.default.contents(atPath: inputFile) else {
            throw ValidationError("--input-file: cannot read \(inputFile)")
        }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true)
            .map(String.init)
        let built = try ServeEngine.make(
            model: try await engine.resolveModel(model), name: model, tokenizerPath: try await engine.resolveModel(engine.tokenizer, applyOverrides: false),
            draftModel: try await engine.resolveDraftModel(), options: engine, servedModelNames: servedModelName, chatTemplate: chatTemplate,
            generationConfig: generationConfig)
        var config = ServerConfig()
        config.disableLogRequests = true
        config.responseRole = responseRole
        try lora.apply(to: &config, engine: engine)
        let serving = OpenAIServing(model: built.model, config: config, logger: Logger(label: "swift-vllm.run-batch"))
        do {
            try await serving.loadStaticLoRAsOrFail()
        } catch {
            built.shutdown()
            throw error
        }
        let start = Date()
        let outputs = await BatchRunner(serving: serving, maxConcurrency: 2 * built.maxNumSeqs).run(lines: lines)
        built.shutdown()
        do {
            try (outputs.joined(separator: "\n") + (outputs.isEmpty ? "" : "\n")).write(
                toFile: outputFile, atomically: true, encoding: .utf8)
        } catch {
            throw ValidationError("--output-file: cannot write \(outputFile): \(error)")
        }
        let seconds = String(format: "%.1f", Date().timeIntervalSince(start))
        FileHandle.standardError.write(Data("INFO run-batch: \(outputs.count) requests in \(seconds) s -> \(outputFile)\n".utf8))
    }
}
