import ArgumentParser
import Foundation
import VLLMBench
import VLLMHub

/// `swift-vllm bench serve`: vLLM's `bench serve`, flag for flag, against any OpenAI-compatible server.
struct BenchServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Load an OpenAI-compatible server (this one, vLLM, others) as vLLM's `bench serve` does; report and save its figures.",
        discussion: """
            Requests stream; TTFT, TPOT, ITL and end-to-end latency are measured per request, token counts come from the \
            streams' usage. The report and the --save-result file carry vLLM's keys. OPENAI_API_KEY is sent as a bearer token.
            """)

    // Server
    @Option(help: "openai (and vllm): /v1/completions; openai-chat: /v1/chat/completions.") var backend = "openai"
    @Option(name: .customLong("base-url"), help: "The server's base URL (default: http://HOST:PORT).") var baseURL: String?
    @Option var host = "127.0.0.1"
    @Option var port = 8000
    @Option var endpoint = "/v1/completions"
    @Option(parsing: .upToNextOption, help: "KEY=VALUE headers sent with every request.") var header: [String] = []
    @Option(help: "The model name requests carry (default: the server's first model).") var model: String?
    @Option(name: .customLong("served-model-name"), help: "The name requests carry when it differs from --model.")
    var servedModelName: String?
    @Option(help: "Tokenizer folder or hub id (default: --model) that builds and counts prompts.") var tokenizer: String?
    @Option(name: .customLong("tokenizer-mode"), help: "auto or hf (both: this project's tokenizer code).") var tokenizerMode = "auto"
    @Flag(name: .customLong("trust-remote-code"), help: "Accepted for vLLM's command lines; nothing is executed.")
    var trustRemoteCode = false

    // Dataset
    @Option(name: .customLong("dataset-name"), help: "random, sharegpt or custom.") var datasetName = "random"
    @Option(name: .customLong("dataset-path"), help: "The ShareGPT .json or custom .jsonl file.") var datasetPath: String?
    @Option(name: .customLong("num-prompts")) var numPrompts = 1000
    @Option(help: "Seeds the prompts and the arrival schedule.") var seed: UInt64 = 0
    @Option(name: .customLong("input-len"), help: "Sets --random-input-len.") var inputLen: Int?
    @Option(name: .customLong("output-len"), help: "Sets --random-output-len, --sharegpt-output-len and --custom-output-len.")
    var outputLen: Int?
    @Option(name: .customLong("random-input-len")) var randomInputLen = 1024
    @Option(name: .customLong("random-output-len")) var randomOutputLen = 128
    @Option(name: .customLong("random-range-ratio"), help: "Lengths drawn from [len·(1−r), len·(1+r)]; or {\"input\": r, \"output\": r}.")
    var randomRangeRatio = "0.0"
    @Option(name: .customLong("random-prefix-len"), help: "Random tokens shared by every prompt, before its own.")
    var randomPrefixLen = 0
    @Option(name: .customLong("sharegpt-output-len")) var sharegptOutputLen: Int?
    @Option(name: .customLong("custom-output-len"), help: "-1: each line's output_tokens.") var customOutputLen = 256
    @Flag(name: .customLong("skip-chat-template"), help: "Custom prompts are sent as written, not through the chat template.")
    var skipChatTemplate = false
    @Flag(name: .customLong("disable-shuffle")) var disableShuffle = false
    @Flag(name: .customLong("no-oversample")) var noOversample = false

    // Traffic
    @Option(name: .customLong("request-rate"), help: "Requests per second (inf: all at once).") var requestRate = Double.infinity
    @Option(help: "1: Poisson arrivals; below 1 burstier, above 1 more even (gamma gaps).") var burstiness = 1.0
    @Option(name: .customLong("max-concurrency")) var maxConcurrency: Int?
    @Option(name: .customLong("ramp-up-strategy"), help: "linear or exponential.") var rampUpStrategy: String?
    @Option(name: .customLong("ramp-up-start-rps")) var rampUpStartRPS: Int?
    @Option(name: .customLong("ramp-up-end-rps")) var rampUpEndRPS: Int?
    @Option(name: .customLong("num-warmups")) var numWarmups = 0
    @Option(name: .customLong("ready-check-timeout-sec")) var readyCheckTimeoutSec = 0
    @Option(name: .customLong("request-id-prefix")) var requestIdPrefix = "bench-\(UUID().uuidString.lowercased().prefix(8))-"

    // Requests
    @Flag(name: .customLong("ignore-eos")) var ignoreEos = false
    @Option var logprobs: Int?
    @Option(name: .customLong("top-p")) var topP: Double?
    @Option(name: .customLong("top-k")) var topK: Int?
    @Option(name: .customLong("min-p")) var minP: Double?
    @Option var temperature: Double?
    @Option(name: .customLong("frequency-penalty")) var frequencyPenalty: Double?
    @Option(name: .customLong("presence-penalty")) var presencePenalty: Double?
    @Option(name: .customLong("repetition-penalty")) var repetitionPenalty: Double?
    @Option(name: .customLong("extra-body"), help: "A JSON object merged into every request body.") var extraBody: String?

    // Report
    @Option(parsing: .upToNextOption, help: "SLOs as KEY:VALUE (ttft, tpot, e2el; milliseconds).") var goodput: [String] = []
    @Option(name: .customLong("percentile-metrics"), help: "Comma-separated: ttft, tpot, itl, e2el.")
    var percentileMetrics = "ttft,tpot,itl"
    @Option(name: .customLong("metric-percentiles")) var metricPercentiles = "99"
    @Flag(name: .customLong("disable-tqdm"), help: "No progress bar.") var disableTqdm = false
    @Option var label: String?
    @Flag(name: .customLong("save-result")) var saveResult = false
    @Flag(name: .customLong("save-detailed"), help: "Keep the per-request lists in the result file.") var saveDetailed = false
    @Flag(name: .customLong("append-result")) var appendResult = false
    @Option(parsing: .upToNextOption, help: "KEY=VALUE pairs recorded in the result file.") var metadata: [String] = []
    @Option(name: .customLong("result-dir")) var resultDir: String?
    @Option(name: .customLong("result-filename")) var resultFilename: String?

    static func pairs(_ items: [String], flag: String) throws -> [(String, String)] {
        try items.map { item in
            guard let equals = item.firstIndex(of: "=") else {
                throw ValidationError("\(flag) '\(item)': use KEY=VALUE")
            }
            return (item[..<equals].trimmingCharacters(in: .whitespaces), item[item.index(after: equals)...].trimmingCharacters(in: .whitespaces))
        }
    }

    func run() async throws {
        guard let backend = BenchBackend(rawValue: backend) else {
            throw ValidationError("--backend '\(self.backend)' is not supported; use \(BenchBackend.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard ["auto", "hf", "slow"].contains(tokenizerMode) else {
            throw ValidationError("--tokenizer-mode '\(tokenizerMode)' is not supported; use auto or hf")
        }
        var rampUp: ArrivalSchedule.RampUp?
        if let rampUpStrategy {
            guard requestRate == .infinity else {
                throw ValidationError("When using ramp-up, do not specify --request-rate: the ramp-up controls the rate")
            }
            guard let start = rampUpStartRPS, let end = rampUpEndRPS else {
                throw ValidationError("--ramp-up-strategy needs both --ramp-up-start-rps and --ramp-up-end-rps")
            }
            guard start >= 0, end >= 0, start <= end else {
                throw ValidationError("ramp-up rates must be non-negative and the start at most the end")
            }
            switch rampUpStrategy {
            case "linear": rampUp = .linear(startRPS: Double(start), endRPS: Double(end))
            case "exponential":
                guard start > 0 else { throw ValidationError("for exponential ramp-up, the start RPS cannot be 0") }
                rampUp = .exponential(startRPS: Double(start), endRPS: Double(end))
            default: throw ValidationError("--ramp-up-strategy '\(rampUpStrategy)': use linear or exponential")
            }
        }
        let base = (baseURL ?? "http://\(host.contains(":") ? "[\(host)]" : host):\(port)").trimmingSuffix("/")
        var headers: [(String, String)] = []
        if let key = ProcessInfo.processInfo.environment["OPENAI_API_KEY"], !key.isEmpty {
            headers.append(("Authorization", "Bearer \(key)"))
        }
        headers += try Self.pairs(header, flag: "--header")
        let metadataPairs = try Self.pairs(metadata, flag: "--metadata")

        // The model: --model, else the server's first (its id names requests, its root finds the tokenizer).
        var modelId = model
        var modelName = servedModelName ?? model
        if model == nil {
            print("Model not specified, fetching first model from server...")
            let first = try await ServeBenchmark.firstModel(baseURL: base, headers: headers)
            print("First model name: \(first.id), first model id: \(first.root)")
            modelName = first.id
            modelId = first.root
        }
        guard let modelId, let modelName else { throw ValidationError("no model name") }
        let tokenizerId = tokenizer ?? modelId
        let tokenizerFolder: URL
        do {
            tokenizerFolder = try await Self.tokenizerFolder(tokenizerId)
        } catch {
            throw ValidationError("the prompts are built and counted with a tokenizer: \(error); pass --tokenizer FOLDER or ORG/NAME")
        }
        let benchTokenizer = try BenchTokenizer(directory: tokenizerFolder)

        guard ["random", "sharegpt", "custom"].contains(datasetName) else {
            throw ValidationError("--dataset-name '\(datasetName)' is not supported; use random, sharegpt or custom")
        }
        if datasetName == "random" && datasetPath != nil {
            throw ValidationError("Cannot use 'random' dataset with --dataset-path: use --dataset-name sharegpt or custom for \(datasetPath!)")
        }
        let dataset: BenchDataset
        switch datasetName {
        case "random":
            let ratios = try BenchDataset.parseRangeRatio(randomRangeRatio)
            dataset = .random(
                inputLen: inputLen ?? randomInputLen, outputLen: outputLen ?? randomOutputLen, inputRangeRatio: ratios.input,
                outputRangeRatio: ratios.output, prefixLen: randomPrefixLen)
        case "sharegpt":
            guard let datasetPath else { throw ValidationError("--dataset-name sharegpt needs --dataset-path FILE.json") }
            dataset = .sharegpt(path: datasetPath, outputLen: outputLen ?? sharegptOutputLen)
        default:
            guard let datasetPath else { throw ValidationError("--dataset-name custom needs --dataset-path FILE.jsonl") }
            dataset = .custom(path: datasetPath, outputLen: outputLen ?? customOutputLen, skipChatTemplate: skipChatTemplate)
        }
        guard numPrompts >= 1 || datasetName == "custom" else {
            throw ValidationError("--num-prompts must be at least 1 (a custom dataset takes 0 as: every line)")
        }
        let requests = try dataset.sample(
            count: numPrompts, tokenizer: benchTokenizer, seed: seed, requestIdPrefix: requestIdPrefix,
            shuffle: !disableShuffle, oversample: !noOversample)

        var options = ServeBenchmark.Options(baseURL: base)
        options.backend = backend
        options.endpoint = endpoint
        options.model = modelId
        options.servedModelName = modelName
        options.requestRate = requestRate
        options.burstiness = burstiness
        options.rampUp = rampUp
        options.maxConcurrency = maxConcurrency
        options.seed = seed
        // Random prompts run to their length, as in vLLM.
        options.ignoreEos = ignoreEos || datasetName == "random"
        options.logprobs = logprobs
        options.goodput = try GoodputObjectives(parsing: goodput)
        options.percentileMetrics = percentileMetrics.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        for metric in options.percentileMetrics where !["ttft", "tpot", "itl", "e2el"].contains(metric) {
            throw ValidationError("--percentile-metrics: '\(metric)' is not one of ttft, tpot, itl, e2el")
        }
        options.metricPercentiles = try metricPercentiles.split(separator: ",").map {
            guard let p = Double($0.trimmingCharacters(in: .whitespaces)), (0...100).contains(p) else {
                throw ValidationError("--metric-percentiles: '\($0)' is not a percentile in 0…100")
            }
            return p
        }
        options.numWarmups = numWarmups
        options.readyCheckTimeout = Double(readyCheckTimeoutSec)
        options.headers = headers
        options.showProgress = !disableTqdm && isatty(2) == 1
        var body: [String: JSONValueBox] = [:]
        let sampling: [(String, Any?)] = [
            ("top_p", topP), ("top_k", topK), ("min_p", minP), ("temperature", temperature), ("frequency_penalty", frequencyPenalty),
            ("presence_penalty", presencePenalty), ("repetition_penalty", repetitionPenalty),
        ]
        for case let (key, value?) in sampling { body[key] = JSONValueBox(value) }
        if temperature == nil {
            print("WARNING: vllm bench serve no longer sets temperature==0 (greedy) in requests by default. The default will be "
                + "determined on the server side and can be model/API specific. For the old behavior, include --temperature=0.")
        }
        if let extraBody {
            guard let object = (try? JSONSerialization.jsonObject(with: Data(extraBody.utf8))) as? [String: Any] else {
                throw ValidationError("--extra-body must be a JSON object, got \(extraBody)")
            }
            for (key, value) in object { body[key] = JSONValueBox(value) }
        }
        options.extraBody = body

        let tokenCounter: @Sendable (String) -> Int = { benchTokenizer.encode($0, addSpecialTokens: false).count }
        let run = try await ServeBenchmark(options: options).run(requests, countTokens: tokenCounter) { Swift.print($0) }

        guard saveResult || appendResult else { return }
        let date = BenchResultFile.dateStamp()
        var file = BenchResultFile(
            backend: backend.rawValue, label: label, modelId: modelId, tokenizerId: tokenizerId, numPrompts: numPrompts,
            requestRate: requestRate, burstiness: burstiness, maxConcurrency: maxConcurrency, rampUp: rampUp)
        file.metadata = metadataPairs
        let path = file.path(filename: resultFilename, directory: resultDir, date: date)
        try BenchResultFile.write(file.result(run: run, date: date, detailed: saveDetailed), to: path, append: appendResult)
        print("Results saved to \(path)")
    }

    /// A tokenizer folder, or a hub id whose tokenizer (no weights) is fetched into the HF cache.
    static func tokenizerFolder(_ id: String) async throws -> URL {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: id, isDirectory: &isFolder), isFolder.boolValue {
            return URL(fileURLWithPath: id)
        }
        guard HubRepositoryID.isHubID(id) else {
            throw ValidationError("'\(id)' is neither a folder nor a hub id (org/name)")
        }
        return try await EngineOptions.download(id, revision: nil, downloadDir: nil, weights: false)
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        var text = self
        while text.hasSuffix(suffix) { text.removeLast(suffix.count) }
        return text
    }
}
