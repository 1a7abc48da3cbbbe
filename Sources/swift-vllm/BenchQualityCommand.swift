import ArgumentParser
import Foundation
import VLLMBench

/// `swift-vllm bench quality`: a chat server's answers scored against reference answers by the cosine of their
/// embeddings (any /v1/embeddings server), with the response times beside.
struct BenchQualityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quality",
        abstract: "Score a chat server's answers against references by embedding cosine; report accuracy and response times.",
        discussion: """
            Each line of --dataset is {"messages": [...], "reference": "..."}. An answer passes when the cosine of its \
            embedding and the reference's reaches --threshold; accuracy is passing lines over all lines (a failed request \
            does not pass). OPENAI_API_KEY (or --api-key) is sent to both servers.
            """)

    @Option(name: .customLong("base-url"), help: "The chat server (its /v1/chat/completions).") var baseURL: String
    @Option(help: "The chat model's name.") var model: String
    @Option(help: "JSONL: {\"messages\": [...], \"reference\": \"...\"} per line.") var dataset: String
    @Option(name: .customLong("embedding-base-url"), help: "The embeddings server (its /v1/embeddings).") var embeddingBaseURL: String
    @Option(name: .customLong("embedding-model")) var embeddingModel: String
    @Option(help: "The cosine an answer needs to pass.") var threshold = 0.85
    @Option(help: "Lines in flight at once.") var concurrency = 8
    @Option var temperature = 0.0
    @Option(name: .customLong("max-tokens")) var maxTokens = 512
    @Option var seed: Int?
    @Option(name: .customLong("api-key"), help: "Bearer token for both servers (default: OPENAI_API_KEY).") var apiKey: String?
    @Option(name: .customLong("embedding-api-key"), help: "Bearer token for the embeddings server, when it differs.")
    var embeddingAPIKey: String?
    @Option(name: .customLong("output-jsonl"), help: "Write each line's answer, cosine, verdict and time here.") var outputJSONL: String?
    @Option(name: .customLong("result-json"), help: "Write the summary here.") var resultJSON: String?
    @Flag(name: .customLong("disable-tqdm"), help: "No progress bar.") var disableTqdm = false

    func validate() throws {
        guard threshold >= -1 && threshold <= 1 else { throw ValidationError("--threshold must be a cosine in [-1, 1]") }
        guard concurrency > 0 else { throw ValidationError("--concurrency must be positive") }
        guard maxTokens > 0 else { throw ValidationError("--max-tokens must be positive") }
    }

    func run() async throws {
        let lines = try QualityBenchmark.loadDataset(path: dataset)
        var options = QualityBenchmark.Options(
            baseURL: baseURL.trimmingSuffix("/"), model: model, embeddingBaseURL: embeddingBaseURL.trimmingSuffix("/"),
            embeddingModel: embeddingModel)
        options.threshold = threshold
        options.concurrency = concurrency
        options.temperature = temperature
        options.maxTokens = maxTokens
        options.seed = seed
        options.apiKey = apiKey ?? ProcessInfo.processInfo.environment["OPENAI_API_KEY"]
        options.embeddingAPIKey = embeddingAPIKey
        options.showProgress = !disableTqdm && isatty(2) == 1
        let benchmark = QualityBenchmark(options: options)
        let start = Date()
        let results = try await benchmark.run(lines)
        let summary = benchmark.summarize(results, duration: Date().timeIntervalSince(start)) { print($0) }
        if let outputJSONL {
            let text = results.map { $0.json.serialized() + "\n" }.joined()
            try Data(text.utf8).write(to: URL(fileURLWithPath: outputJSONL))
        }
        if let resultJSON { try BenchResultFile.write(summary, to: resultJSON, append: false) }
    }
}
