import ArgumentParser
import Foundation
import VLLMCore
import VLLMEngine
import VLLMServer
import VLLMTokenizers

/// `swift-vllm generate`: offline generation, one prompt from the command line or a JSONL file of them.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate continuations offline (one prompt, or a JSONL file of prompts).")

    @Option(help: "HuggingFace model folder (default: the built-in random-weight demo model).")
    var model: String?
    @Option(name: .customLong("prompt-ids"), help: "Prompt token ids, comma-separated (e.g. 1,450,3).")
    var promptIds: String?
    @Option(help: "Prompt text (tokenized with the model's tokenizer, special tokens added as the model does).")
    var prompt: String?
    @Option(help: "Input JSONL: {\"prompt_token_ids\": [...]} per line, with optional sampling fields.")
    var prompts: String?
    @Option(help: "Output JSONL for --prompts (default: stdout).")
    var output: String?
    @Option(name: .customLong("max-tokens"), help: "Tokens to generate (default: generation_config.json's max_new_tokens, else 16).")
    var maxTokens: Int?
    @Option(help: "Stop strings (repeatable); left out of the text.") var stop: [String] = []
    @Option(help: "Sampling temperature; 0 is greedy (default: generation_config.json's, else 1).")
    var temperature: Float?
    @Option(name: .customLong("top-p")) var topP: Float?
    @Option(name: .customLong("top-k")) var topK: Int?
    @Option(name: .customLong("generation-config"), help: "auto: take default sampling values from the model's generation_config.json; vllm: vLLM's own defaults.")
    var generationConfig: String = "auto"
    @Flag(name: .customLong("ignore-eos"), help: "Keep generating past the model's EOS tokens.")
    var ignoreEos = false
    @Flag(help: "Print JSON: {\"prompt_token_ids\", \"outputs\": [{\"token_ids\", \"text\", \"finish_reason\"}]}.")
    var json = false
    @Option(name: .customLong("lora"), help: "A PEFT LoRA adapter folder every prompt runs with (needs --enable-lora).")
    var lora: String?
    @OptionGroup var engine: EngineOptions

    func validate() throws {
        if lora != nil, !engine.enableLoRA { throw ValidationError("LoRA is not enabled. Use --enable-lora to enable LoRA.") }
    }

    /// `--lora` as the engine's request (vLLM's offline `lora_request`, one for every prompt), named after its folder.
    var loraRequest: LoRARequest? {
        lora.map { path in
            LoRARequest(name: URL(fileURLWithPath: path).lastPathComponent, id: 1, path: (path as NSString).expandingTildeInPath)
        }
    }

    func run() throws {
        let model = try engine.resolveModelBlocking(self.model)
        let tokenizer = try Self.loadTokenizer(model: try engine.resolveModelBlocking(engine.tokenizer, applyOverrides: false) ?? model)
        let llm = try LLM(args: try engine.engineArgs(model: model, draftModel: try engine.resolveDraftModelBlocking()), devices: try engine.makeOfflineDevices(), detokenizer: tokenizer)
        guard ["auto", "vllm"].contains(generationConfig) else {
            throw ValidationError("--generation-config '\(generationConfig)' is not supported; use auto or vllm")
        }
        var defaults = generationConfig == "auto" ? llm.engine.generationConfig.defaultSamplingParams() : SamplingParams()
        defaults.stop = stop
        defaults.detokenize = tokenizer != nil
        if let maxTokens { defaults.maxTokens = maxTokens }
        if let temperature { defaults.temperature = temperature }
        if let topP { defaults.topP = topP }
        if let topK { defaults.topK = SamplingParams.topK(fromVLLM: topK) }
        defaults.ignoreEos = ignoreEos
        defer {
            if let spec = llm.core.stats().specDecoding { FileHandle.standardError.write(Data("INFO \(spec.summary)\n".utf8)) }
        }
        if let prompts {
            try runFile(prompts, llm: llm, tokenizer: tokenizer, defaults: defaults)
            return
        }
        let ids: [Int]
        if let prompt {
            guard let tokenizer else { throw ValidationError("--prompt needs the model's tokenizer (tokenizer.json); use --prompt-ids") }
            ids = tokenizer.encode(prompt)
        } else {
            ids = try (promptIds ?? "\(llm.engine.config.bosTokenId ?? 1)").split(separator: ",").map { piece -> Int in
                guard let id = Int(piece.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("--prompt-ids: '\(piece)' is not a token id") }
                return id
            }
        }
        let result = try llm.generate([ids], params: [defaults], loras: [loraRequest])[0]
        if json {
            print(try Self.jsonLine(result))
        } else if tokenizer != nil {
            print(result.outputs[0].text)
        } else {
            print(result.outputs[0].tokenIds.map(String.init).joined(separator: " "))
        }
    }

    /// The model folder's tokenizer, the demo tokenizer without a model, or nil for a folder without one.
    static func loadTokenizer(model: String?) throws -> Tokenizer? {
        guard let model else { return try EngineArgs.demoTokenizer() }
        let folder = URL(fileURLWithPath: model)
        let files = ["tokenizer.json", "vocab.json"].map { folder.appendingPathComponent($0).path }
        guard files.contains(where: FileManager.default.fileExists(atPath:)) else { return nil }
        return try Tokenizer.load(modelDirectory: folder)
    }

    /// `--prompts FILE.jsonl`: every line a request; results in input order; progress on stderr.
    func runFile(_ path: String, llm: LLM, tokenizer: Tokenizer?, defaults: SamplingParams) throws {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ValidationError("--prompts: cannot read \(path)")
        }
        var promptIds: [[Int]] = [], params: [SamplingParams] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            struct Line: Decodable { var prompt_token_ids: [Int]?; var prompt: String? }
            let parsed: Line
            let p: SamplingParams
            do {
                parsed = try JSONDecoder().decode(Line.self, from: Data(line.utf8))
                p = try RequestSamplingFields.samplingParams(json: Array(line.utf8), base: defaults)
            } catch {
                throw ValidationError("\(path):\(number + 1): \(error)")
            }
            let ids: [Int]
            if let given = parsed.prompt_token_ids {
                ids = given
            } else if let text = parsed.prompt, let tokenizer {
                ids = tokenizer.encode(text)
            } else {
                throw ValidationError("\(path):\(number + 1): needs \"prompt_token_ids\", or \"prompt\" with a model that has a tokenizer")
            }
            promptIds.append(ids)
            params.append(p)
        }
        let start = Date()
        let results = try llm.generate(promptIds, params: params, loras: [loraRequest]) { done, total, tokens in
            let rate = Double(tokens) / max(Date().timeIntervalSince(start), 1e-9)
            FileHandle.standardError.write(Data("\rProcessed prompts: \(done)/\(total), \(String(format: "%.1f", rate)) toks/s".utf8))
        }
        FileHandle.standardError.write(Data("\n".utf8))
        let lines = try results.map(Self.jsonLine).joined(separator: "\n") + "\n"
        if let output {
            try lines.write(toFile: output, atomically: true, encoding: .utf8)
        } else {
            print(lines, terminator: "")
        }
    }

    static func jsonLine(_ result: RequestOutput) throws -> String {
        /// `logprobs`: per generated token, {token id: logprob} of the sampled token and the top ones (vLLM's offline shape).
        struct Out: Encodable { var index: Int; var text: String; var token_ids: [Int]; var finish_reason: String?; var logprobs: [[String: Float]]? }
        struct Line: Encodable { var prompt_token_ids: [Int]; var outputs: [Out] }
        let line = Line(prompt_token_ids: result.promptTokenIds, outputs: result.outputs.map { out in
            Out(index: out.index, text: out.text, token_ids: out.tokenIds, finish_reason: out.finishReason?.rawValue,
                logprobs: out.logprobs.map { perToken in
                    zip(out.tokenIds, perToken).map { token, lp in
                        var entry = Dictionary(lp.top.map { ("\($0.tokenId)", $0.logprob) }, uniquingKeysWith: { a, _ in a })
                        entry["\(token)"] = lp.sampledLogprob
                        return entry
                    }
                })
        })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(line), as: UTF8.self)
    }
}
