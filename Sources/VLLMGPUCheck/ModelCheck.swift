import FoundationEssentials
import VLLMCompute
import VLLMCPU
import VLLMCUDA
import VLLMEngine
import VLLMModels

/// Whole-model checks on the GPU: teacher-forced logits against transformers' (scripts/gpu_reference.py),
/// and a greedy story against the CPU backend's.
public struct ModelCheck {
    let gpu: CUDABackend
    let directory: String
    let utilization: Double

    public init(gpu: CUDABackend, directory: String, utilization: Double) {
        self.gpu = gpu
        self.directory = directory
        self.utilization = utilization
    }
    /// `.dummy` profiles a shape without writing its weights to disk first (config.json alone is read).
    public var loadFormat: LoadFormat = .safetensors
    let blockSize = 16
    /// Relative error allowed per position: the issue's 2e-2 with bf16 activations; with f32 ones the
    /// only differences left are summation orders, so far less.
    var tolerance: Float { gpu.activationDType == .float32 ? 1e-3 : 2e-2 }

    /// What scripts/gpu_reference.py writes: the token sequence, transformers' logits at every position
    /// (raw f32 [tokens, vocab] in `logitsFile`, beside the JSON), and its greedy continuation of a prompt.
    struct Reference: Decodable {
        var tokens: [Int32]
        var vocab: Int
        var logitsFile: String
        var greedyPromptLength: Int
        var greedy: [Int32]
        enum CodingKeys: String, CodingKey {
            case tokens, vocab, logitsFile = "logits_file", greedyPromptLength = "greedy_prompt_length", greedy
        }
    }

    /// The model and a runner of `maxNumSeqs` sequences (at least 256) and an 8192-token budget.
    func loadModel(maxNumSeqs: Int = 256) throws -> (any CausalLM, ModelRunner) {
        let maxNumSeqs = max(256, maxNumSeqs)
        let clock = ContinuousClock()
        let start = clock.now
        let model = try ModelRegistry.load(directory: URL(fileURLWithPath: directory), backend: gpu, format: loadFormat)
        try gpu.synchronize()
        print("model \(directory): loaded in \(clock.now - start), weights \(gpu.allocator.bytesInUse >> 20) MiB on the GPU")
        let plan = try KVCacheSizing.profile(models: [model], maxNumTokens: 8192, maxNumSeqs: maxNumSeqs,
                                            blockSize: blockSize, gpuMemoryUtilization: utilization)
        print(plan.summary)
        let runner = try ModelRunner(model: model, numBlocks: plan.numBlocks, blockSize: blockSize,
                                     maxNumBatchedTokens: 8192, maxNumSeqs: maxNumSeqs)
        return (model, runner)
    }

    /// A reference's logits (every position) and what the check found against them.
    struct Comparison {
        var path: String
        var expected: [Float]
        var tolerance: Float
        var worst: Float = 0
        var sum: Double = 0
        var over = 0
        var argmaxChecked = 0
        var argmaxMismatches: [Int] = []
        var nearTieMismatches = 0

        mutating func add(position: Int, got: [Float], vocab: Int, check: ModelCheck) {
            let want = Array(expected[position * vocab..<(position + 1) * vocab])
            let error = relativeError(got, want)
            worst = max(worst, error.isNaN ? .infinity : error)
            sum += Double(error)
            if !(error <= tolerance) { over += 1 }
            let (best, margin) = check.topTwo(want)
            if margin > 0.05 {
                argmaxChecked += 1
                if check.topTwo(got).index != best { argmaxMismatches.append(position) }
            } else if check.topTwo(got).index != best {
                nearTieMismatches += 1
            }
        }

        func summary(count: Int) -> String {
            "worst relative error \(formatScientific(worst)), mean \(formatScientific(Float(sum / Double(max(count, 1))))) "
                + "(tolerance \(formatScientific(tolerance)), \(over) positions over); argmax equal at \(argmaxChecked - argmaxMismatches.count)/"
                + "\(argmaxChecked) positions with margin > 0.05\(argmaxMismatches.isEmpty ? "" : ", differs at \(argmaxMismatches)"); "
                + "\(nearTieMismatches) near-tie positions differ"
        }
    }

    /// Teacher-forced logits against the first reference (pass/fail) and any others (reported: e.g.
    /// transformers in f32, to show how far bf16 itself is from it). Every reference must hold the same tokens.
    public func teacherForced(referencePaths: [String]) throws -> Int {
        var references: [(Reference, Comparison)] = []
        for path in referencePaths {
            let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
            let folder = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
            let raw = try Data(contentsOf: URL(fileURLWithPath: "\(folder)/\(reference.logitsFile)"))
            let (vocab, count) = (reference.vocab, reference.tokens.count)
            guard raw.count == count * vocab * 4 else {
                throw ModelCheckError("\(reference.logitsFile): \(raw.count) bytes, expected \(count) × \(vocab) f32")
            }
            if let first = references.first?.0, first.tokens != reference.tokens || first.vocab != vocab {
                throw ModelCheckError("\(path): not the tokens and vocabulary of \(referencePaths[0])")
            }
            let expected: [Float] = raw.withUnsafeBytes { bytes in
                (0..<count * vocab).map { bytes.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) }
            }
            references.append((reference, Comparison(path: path, expected: expected, tolerance: tolerance)))
        }
        let reference = references[0].0
        let (vocab, count) = (reference.vocab, reference.tokens.count)
        let expected = references[0].1.expected
        let (_, runner) = try loadModel()
        let blocks = (0..<Int32((count + blockSize - 1) / blockSize)).map { $0 }
        let offset = Int32(blocks.count)
        let clock = ContinuousClock()

        // Teacher forcing two ways: one decode step per position (the matmul shapes of generation), and
        // every position's logits from one prefill (the shapes of transformers' own forward).
        var start = clock.now
        var decodeRows: [[Float]] = []
        for position in 0..<count {
            let step = StepSequence(tokenIds: [reference.tokens[position]], numComputedTokens: position, blockIds: blocks,
                                    sampling: SamplingRow())
            decodeRows.append(try runner.logits([step])[0])
        }
        let decodeTime = clock.now - start
        start = clock.now
        let prefillRows = try runner.logitsOfEveryToken([
            StepSequence(tokenIds: reference.tokens, numComputedTokens: 0, blockIds: blocks.map { $0 + offset },
                         sampling: SamplingRow())])
        let prefillTime = clock.now - start
        var failures = 0
        for (mode, rows, time) in [("\(count) decode steps", decodeRows, decodeTime), ("one prefill", prefillRows, prefillTime)] {
            var comparisons = references.map(\.1)
            for position in 0..<count {
                for i in comparisons.indices { comparisons[i].add(position: position, got: rows[position], vocab: vocab, check: self) }
            }
            print("teacher-forced, \(mode) in \(time): " + comparisons[0].summary(count: count))
            for comparison in comparisons.dropFirst() {
                print("  against \(comparison.path) (informative): " + comparison.summary(count: count))
            }
            failures += comparisons[0].over + comparisons[0].argmaxMismatches.count
        }

        // The last position through a prefill chunk over a cached prefix.
        let lastExpected = Array(expected[(count - 1) * vocab..<count * vocab])
        let half = count / 2
        let thirdBlocks = blocks.map { $0 + 2 * offset }
        _ = try runner.logits([StepSequence(tokenIds: Array(reference.tokens[..<half]), numComputedTokens: 0,
                                            blockIds: thirdBlocks, sampling: SamplingRow())])
        let chunked = try runner.logits([StepSequence(tokenIds: Array(reference.tokens[half...]), numComputedTokens: half,
                                                      blockIds: thirdBlocks, sampling: SamplingRow())])[0]
        let chunkError = relativeError(chunked, lastExpected)
        print("last position via two chunks: relative error \(formatScientific(chunkError))")
        if !(chunkError <= tolerance) { failures += 1 }

        // Free-running greedy text: informative (random weights give near-ties), not a failure.
        guard !reference.greedy.isEmpty else { return failures }
        let generated = try greedy(runner: runner, prompt: Array(reference.tokens[..<reference.greedyPromptLength]),
                                   count: reference.greedy.count, firstBlock: 3 * offset)
        if let first = zip(generated, reference.greedy).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
            print("greedy: equals transformers for \(first) of \(reference.greedy.count) tokens, then drifts "
                  + "(ours \(generated[first]), transformers \(reference.greedy[first]))")
        } else {
            print("greedy: equals transformers for all \(reference.greedy.count) tokens")
        }
        return failures
    }

    /// Decode steps of `batch` sequences of `context` random tokens each: the wall time of a step as the
    /// runner runs it (inputs, forward, sampling, the tokens back), then one step's GPU time per op with
    /// the stream held busy first, so the host has queued the whole step before the GPU starts it.
    public func profileDecode(batchSizes: [Int], context: Int = 512, steps: Int = 32) throws {
        let (model, runner) = try loadModel(maxNumSeqs: batchSizes.max() ?? 1)
        try profilePrefill(model: model, runner: runner)
        let vocab = model.config.vocabSize
        var random = SplitMix(seed: 0)
        var greedy = SamplingRow()
        greedy.temperature = 0
        let clock = ContinuousClock()
        for batch in batchSizes {
            let blocksEach = (context + steps + 2 + blockSize - 1) / blockSize
            var sequences: [(blocks: [Int32], last: Int32)] = []
            for s in 0..<batch {
                let blocks = (0..<blocksEach).map { Int32(s * blocksEach + $0) }
                let prompt = (0..<context).map { _ in Int32.random(in: 0..<Int32(vocab), using: &random) }
                let first = try runner.execute([StepSequence(tokenIds: prompt, numComputedTokens: 0, blockIds: blocks,
                                                             sampling: greedy)])
                sequences.append((blocks, first.tokenIds[0]))
            }
            func step(_ index: Int) throws {
                let next = try runner.execute(sequences.map {
                    StepSequence(tokenIds: [$0.last], numComputedTokens: context + index, blockIds: $0.blocks, sampling: greedy)
                })
                for s in sequences.indices { sequences[s].last = next.tokenIds[s] }
            }
            try step(0)
            let before = runner.timings
            let start = clock.now
            for index in 1...steps { try step(index) }
            let wall = (clock.now - start) / steps
            let phases = Self.phases(runner.timings, since: before, steps: steps)
            try gpu.holdStream(milliseconds: 100)
            try gpu.startProfiling()
            try step(steps + 1)
            let times = try gpu.stopProfiling()
            let wallMilliseconds = Double(wall.components.attoseconds) * 1e-15 + Double(wall.components.seconds) * 1e3
            print("decode, batch \(batch), context \(context): \(String(format: "%.2f", wallMilliseconds)) ms a step "
                  + "(wall, \(steps) steps; \(phases)); " + Self.byOp(times))
        }
    }

    /// One prefill step of 16 prompts × 512 tokens (W2's step: the 8192-token budget), timed as a
    /// decode step is: wall time over a few repetitions, then GPU time per op.
    func profilePrefill(model: any CausalLM, runner: ModelRunner, numPrompts: Int = 16, length: Int = 512,
                        repetitions: Int = 3) throws {
        var random = SplitMix(seed: 1)
        var greedy = SamplingRow()
        greedy.temperature = 0
        let blocksEach = (length + blockSize - 1) / blockSize
        let sequences = (0..<numPrompts).map { s in
            StepSequence(tokenIds: (0..<length).map { _ in Int32.random(in: 0..<Int32(model.config.vocabSize), using: &random) },
                         numComputedTokens: 0, blockIds: (0..<blocksEach).map { Int32(s * blocksEach + $0) }, sampling: greedy)
        }
        _ = try runner.execute(sequences)
        let clock = ContinuousClock()
        let before = runner.timings
        let start = clock.now
        for _ in 0..<repetitions { _ = try runner.execute(sequences) }
        let wall = (clock.now - start) / repetitions
        let phases = Self.phases(runner.timings, since: before, steps: repetitions)
        try gpu.holdStream(milliseconds: 100)
        try gpu.startProfiling()
        _ = try runner.execute(sequences)
        let times = try gpu.stopProfiling()
        let wallMilliseconds = Double(wall.components.attoseconds) * 1e-15 + Double(wall.components.seconds) * 1e3
        print("prefill, \(numPrompts) × \(length) tokens: \(String(format: "%.2f", wallMilliseconds)) ms a step (wall, "
              + "\(repetitions) steps; \(phases)); " + Self.byOp(times))
    }

    /// The runner's host phases a step over `steps` steps: "prepare x, launch y, wait z ms".
    static func phases(_ after: StepTimings, since before: StepTimings, steps: Int) -> String {
        func ms(_ seconds: Double) -> String { String(format: "%.2f", seconds * 1000 / Double(steps)) }
        return "prepare \(ms(after.prepare - before.prepare)), launch \(ms(after.launch - before.launch)), "
            + "wait \(ms(after.wait - before.wait)) ms"
    }

    /// "GPU x ms a step, by op:" and one line per op, longest first.
    public static func byOp(_ times: [CUDAOpTime]) -> String {
        let total = times.reduce(0) { $0 + $1.milliseconds }
        let host = times.reduce(0) { $0 + $1.hostMilliseconds }
        var lines = ["GPU \(String(format: "%.2f", total)) ms a step (host \(String(format: "%.2f", host)) ms queuing it), by op:"]
        for time in times.sorted(by: { $0.milliseconds > $1.milliseconds }) {
            lines.append("  " + time.name.padding(toLength: 34, withPad: " ", startingAt: 0)
                         + String(format: "%5d calls %8.3f ms %6.1f%%   host %7.3f ms", time.calls, time.milliseconds,
                                  100 * time.milliseconds / total, time.hostMilliseconds))
        }
        return lines.joined(separator: "\n")
    }

    /// SplitMix64 (the sampler's mixer over a counter): the profile's random prompts, the same every run.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 1
            return SamplingRandom.mix(state)
        }
    }

    /// Greedy decoding through the runner's sampler: one prefill, then one token per step.
    func greedy(runner: ModelRunner, prompt: [Int32], count: Int, firstBlock: Int32) throws -> [Int32] {
        let blocks = (0..<Int32((prompt.count + count + blockSize) / blockSize)).map { $0 + firstBlock }
        var row = SamplingRow()
        row.temperature = 0
        var tokens = prompt
        var next = try runner.execute([StepSequence(tokenIds: prompt, numComputedTokens: 0, blockIds: blocks, sampling: row)])
        var generated: [Int32] = []
        while generated.count < count {
            generated.append(next.tokenIds[0])
            tokens.append(next.tokenIds[0])
            guard generated.count < count else { break }
            next = try runner.execute([StepSequence(tokenIds: [tokens.last!], numComputedTokens: tokens.count - 1,
                                                    blockIds: blocks, sampling: row)])
        }
        return generated
    }

    /// Greedy from BOS on the GPU and on the CPU backend: the stories must be equal token for token.
    public func greedyAgainstCPU(tokens: Int) throws -> Int {
        let url = URL(fileURLWithPath: directory)
        let config = try ModelConfig.load(modelDirectory: url)
        let bos = Int32(config.bosTokenId ?? 1)
        let blocksNeeded = (tokens + 1 + blockSize) / blockSize
        var stories: [[Int32]] = []
        for backend in [gpu as any Backend, CPUBackend()] {
            let model = try ModelRegistry.load(directory: url, backend: backend)
            let runner = try ModelRunner(model: model, numBlocks: blocksNeeded, blockSize: blockSize,
                                         maxNumBatchedTokens: 512, maxNumSeqs: 4)
            stories.append(try greedy(runner: runner, prompt: [bos], count: tokens, firstBlock: 0))
        }
        let firstDifference = zip(stories[0], stories[1]).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        if let firstDifference {
            print("greedy \(directory): GPU and CPU differ at token \(firstDifference) of \(tokens) — FAIL")
            return 1
        }
        print("greedy \(directory): GPU equals CPU for all \(tokens) tokens — pass")
        return 0
    }

    /// The argmax (lowest index on ties) and its margin over the runner-up.
    func topTwo(_ values: [Float]) -> (index: Int, margin: Float) {
        var best = 0
        for i in values.indices where values[i] > values[best] { best = i }
        var second = -Float.infinity
        for i in values.indices where i != best { second = max(second, values[i]) }
        return (best, values[best] - second)
    }
}

/// A reference file that does not fit the model it is checked against.
public struct ModelCheckError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
