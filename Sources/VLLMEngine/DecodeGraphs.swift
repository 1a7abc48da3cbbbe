import VLLMCompute

/// The padded shape of a recorded decode step: its rows (sequences), the tokens each feeds and samples (1 for a
/// decode, 1 + k where every sequence verifies k draft tokens), and the width of its block table, which also bounds
/// its contexts (`tableWidth · blockSize` keys).
struct DecodeGraphShape: Hashable, Sendable, CustomStringConvertible {
    var rows: Int
    var queryLen = 1
    var tableWidth: Int
    var description: String { "\(rows) rows × \(queryLen == 1 ? "" : "\(queryLen) tokens × ")\(tableWidth) blocks" }
}

/// CUDA graphs for pure decode steps (vLLM's full decode graphs, `--enforce-eager` turns them off): a
/// step in which every sequence feeds one token and samples is padded up to the next of vLLM's capture
/// sizes and to a power-of-two block-table width, and runs as that shape's recorded graph — one launch
/// instead of one per kernel, so the GPU pays no launch boundaries inside the step. Speculative decoding's
/// verify steps are graphs too where they are uniform (vLLM's uniform decode query length): every sequence feeds
/// its last token and the same number of drafts, and samples at each.
///
/// Graphs are recorded lazily, off the start-up path: the first step of a shape runs eagerly (growing
/// every scratch buffer it needs), then is recorded for the steps after it. Inputs live at fixed
/// addresses in `inputs`, grown only by dropping every graph recorded over the old buffer.
final class DecodeGraphs {
    /// vLLM's default capture sizes: 1, 2, 4, then every 8 to 256, every 16 to 512.
    static let captureSizes = [1, 2, 4] + Array(stride(from: 8, through: 256, by: 8)) + Array(stride(from: 272, through: 512, by: 16))
    /// Narrowest block table recorded, in keys: shorter contexts share one graph.
    static let minimumContext = 256

    private let backend: any Backend
    private let capturing: (any GraphCapturing)?
    private let blockSize: Int
    private let sizes: [Int]
    /// The most tokens (and logits rows) a graph's step may hold: rows × queryLen.
    private let maxTokens: Int
    /// Pad and run decode steps as a graph would, but eagerly (tests the padding where there are no graphs).
    let padsOnly: Bool
    private var recorded: [DecodeGraphShape: (graph: any DeviceGraph, logits: Tensor)] = [:]
    private var inputs: Tensor?
    /// Why recording stopped (a capture that failed), if it did; decode steps then run eagerly.
    private(set) var disabledReason: String?
    /// Decode steps run padded to a graph's shape (replayed, recorded or, with `padsOnly`, eager), and how many of
    /// them verified draft tokens.
    private(set) var paddedSteps = 0
    private(set) var paddedVerifySteps = 0
    /// Host seconds spent recording graphs so far.
    private(set) var captureSeconds = 0.0

    /// - Parameters:
    ///   - enabled: false for `--enforce-eager`; graphs need a `GraphCapturing` backend besides.
    ///   - maxRows: the most rows a step may have (min of the token and sequence limits).
    ///   - maxTokens: the most tokens and logits rows a step may have (default `maxRows`).
    init(backend: any Backend, enabled: Bool, padsOnly: Bool = false, blockSize: Int, maxRows: Int, maxTokens: Int? = nil) {
        self.backend = backend
        capturing = enabled ? backend as? any GraphCapturing : nil
        self.padsOnly = padsOnly
        self.blockSize = blockSize
        sizes = Self.captureSizes.filter { $0 <= maxRows }
        self.maxTokens = maxTokens ?? maxRows
    }

    /// Whether decode steps run as graphs (or, for tests, padded as if).
    var isActive: Bool { (capturing != nil && disabledReason == nil) || padsOnly }
    /// The largest capture size in use.
    var maxCaptureSize: Int { sizes.last ?? 0 }
    /// Graphs recorded and held now.
    var count: Int { recorded.count }

    /// The graph shape a step runs as, or nil to run it eagerly: steps where some sequence does not sample at
    /// every token it feeds (a prefill chunk) or feeds another number of tokens than the others, or with more
    /// sequences than the largest capture size (or tokens than `maxTokens`).
    func shape(for sequences: [StepSequence]) -> DecodeGraphShape? {
        guard isActive, let queryLen = sequences.first?.tokenIds.count,
              sequences.allSatisfy({ $0.tokenIds.count == queryLen && $0.sampling != nil && $0.numSampledRows == queryLen }),
              let rows = sizes.first(where: { $0 >= sequences.count }), rows * queryLen <= maxTokens else { return nil }
        let longest = sequences.map { $0.numComputedTokens + queryLen }.max() ?? 1
        var width = max(1, Self.minimumContext / blockSize)
        while width * blockSize < longest { width *= 2 }
        return DecodeGraphShape(rows: rows, queryLen: queryLen, tableWidth: width)
    }

    /// The first `count` int32s of the graphs' input buffer. Growing it moves the inputs, so every graph
    /// recorded over the old buffer is dropped (the stream orders the old one's release after them).
    func inputBuffer(count: Int) throws -> Tensor {
        if (inputs?.count ?? 0) < count {
            var capacity = 1 << 14
            while capacity < count { capacity *= 2 }
            recorded = [:]
            inputs = try backend.allocate(shape: [capacity], dtype: .int32)
        }
        return inputs!.rows(0..<count)
    }

    /// Runs `forward` — a decode step of `shape` whose inputs `inputBuffer` holds — as its graph, recording
    /// it first when the shape is new. Returns the logits of all `shape.rows · shape.queryLen` rows.
    func run(_ shape: DecodeGraphShape, forward: () throws -> Tensor) throws -> Tensor {
        paddedSteps += 1
        if shape.queryLen > 1 { paddedVerifySteps += 1 }
        if let entry = recorded[shape], capturing?.isGraphUseAllowed == true {
            try entry.graph.replay()
            return entry.logits
        }
        let logits = try forward()
        guard let capturing, disabledReason == nil else { return logits }
        let start = monotonicSeconds()
        defer { captureSeconds += monotonicSeconds() - start }
        do {
            var captured: Tensor?
            if let graph = try capturing.captureGraph({ captured = try forward() }), let captured {
                recorded[shape] = (graph, captured)
            }
        } catch {
            disabledReason = "recording the decode graph of \(shape) failed: \(error)"
            recorded = [:]
        }
        return logits
    }
}
