import Foundation

/// vLLM's `--save-result` file: the run's settings, then `--metadata` pairs, then the traffic settings, then the
/// run's figures — key for key and in vLLM's order, so scripts written for vLLM's results read these.
public struct BenchResultFile: Sendable {
    public var backend: String
    public var label: String?
    public var modelId: String
    public var tokenizerId: String?
    public var numPrompts: Int
    public var metadata: [(String, String)] = []
    public var requestRate: Double
    public var burstiness: Double
    public var maxConcurrency: Int?
    public var rampUp: ArrivalSchedule.RampUp?

    public init(
        backend: String, label: String?, modelId: String, tokenizerId: String?, numPrompts: Int, requestRate: Double,
        burstiness: Double, maxConcurrency: Int?, rampUp: ArrivalSchedule.RampUp?
    ) {
        self.backend = backend
        self.label = label
        self.modelId = modelId
        self.tokenizerId = tokenizerId
        self.numPrompts = numPrompts
        self.requestRate = requestRate
        self.burstiness = burstiness
        self.maxConcurrency = maxConcurrency
        self.rampUp = rampUp
    }

    /// The per-request lists `--save-detailed` keeps.
    static let detailedKeys: Set<String> = ["input_lens", "output_lens", "start_times", "ttfts", "itls", "generated_texts", "errors"]

    /// `date` as vLLM writes it (and puts in the default file name): 20261130-201500.
    public static func dateStamp(_ date: Date = Date()) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        return formatter.string(from: date)
    }

    /// The whole result: settings first, then `run`'s fields (the per-request lists only when `detailed`).
    public func result(run: OrderedJSON, date: String, detailed: Bool) -> OrderedJSON {
        var fields: [(String, OrderedJSON)] = [
            ("date", .string(date)),
            ("endpoint_type", .string(backend)),
            ("backend", .string(backend)),
            ("label", label.map(OrderedJSON.string) ?? .null),
            ("model_id", .string(modelId)),
            ("tokenizer_id", tokenizerId.map(OrderedJSON.string) ?? .null),
            ("num_prompts", .int(numPrompts)),
        ]
        fields += metadata.map { ($0.0, .string($0.1)) }
        fields.append(("request_rate", requestRate == .infinity ? .string("inf") : .double(requestRate)))
        fields.append(("burstiness", .double(burstiness)))
        fields.append(("max_concurrency", maxConcurrency.map(OrderedJSON.int) ?? .null))
        if let rampUp {
            switch rampUp {
            case .linear(let start, let end), .exponential(let start, let end):
                fields += [("ramp_up_strategy", .string(rampUp.name)), ("ramp_up_start_rps", .int(Int(start))),
                           ("ramp_up_end_rps", .int(Int(end)))]
            }
        }
        guard case .object(let runFields) = run else { return .object(fields) }
        for (key, value) in runFields where detailed || !Self.detailedKeys.contains(key) {
            if let existing = fields.firstIndex(where: { $0.0 == key }) {
                fields[existing].1 = value  // Python's {**settings, **run}: the run's value in the settings' place
            } else {
                fields.append((key, value))
            }
        }
        return .object(fields)
    }

    /// vLLM's default name, `{label or backend}-{rate}qps[-concurrency{C}]-{model's last path part}-{date}.json` (a
    /// ramp-up names its strategy and rates instead), or `filename`, inside `directory` when given.
    public func path(filename: String?, directory: String?, date: String) -> String {
        let concurrency = maxConcurrency.map { "-concurrency\($0)" } ?? ""
        let base = modelId.split(separator: "/").last.map(String.init) ?? modelId
        let prefix = label ?? backend
        var name: String
        if let rampUp, case .linear(let start, let end) = rampUp {
            name = "\(prefix)-ramp-up-linear-\(Int(start))qps-\(Int(end))qps\(concurrency)-\(base)-\(date).json"
        } else if let rampUp, case .exponential(let start, let end) = rampUp {
            name = "\(prefix)-ramp-up-exponential-\(Int(start))qps-\(Int(end))qps\(concurrency)-\(base)-\(date).json"
        } else {
            name = "\(prefix)-\(ServeBenchmark.python(requestRate))qps\(concurrency)-\(base)-\(date).json"
        }
        if let filename { name = filename }
        guard let directory else { return name }
        return directory.hasSuffix("/") ? directory + name : directory + "/" + name  // os.path.join
    }

    /// Writes `result` to `path` (creating its folder), or appends it on a new line (`--append-result`).
    public static func write(_ result: OrderedJSON, to path: String, append: Bool) throws {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let text = result.serialized()
        if append, let handle = try? FileHandle(forWritingTo: url) {
            defer { try? handle.close() }
            let end = try handle.seekToEnd()
            try handle.write(contentsOf: Data(((end > 0 ? "\n" : "") + text).utf8))
        } else {
            try Data(text.utf8).write(to: url)
        }
    }
}
