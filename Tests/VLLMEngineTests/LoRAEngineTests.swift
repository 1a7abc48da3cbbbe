import Foundation
import Testing
import VLLMCompute
import VLLMCPU
import VLLMCore
import VLLMEngine
import VLLMModels

/// Multi-LoRA against PEFT (goldens of scripts/make_lora_goldens.py: tiny Llama and Qwen2 models with PEFT adapters,
/// the oracle PEFT's merged model): requests of different adapters and of none in one batch, through the runner
/// (logits) and the whole engine (greedy tokens), adapters swapped through fewer slots than there are adapters.
@Suite struct LoRAEngineTests {
    struct Golden: Decodable {
        struct Case: Decodable {
            var model: String
            var adapter: String?
            var prompt_index: Int
            var last_logits: [Float]
            var all_logits: [[Float]]?
            var greedy_token_ids: [Int]
        }
        var prompts: [[Int]]
        var cases: [Case]
    }

    static let goldens = EngineParityTests.goldens
    static let lora = goldens.appendingPathComponent("lora")
    static let golden = try! JSONDecoder().decode(Golden.self, from: Data(contentsOf: lora.appendingPathComponent("golden.json")))
    static let quantized = "quantized/ct-w4a16-group-sym"
    static let adapters = ["llama": ["llama-a", "llama-b", "llama-c"], "qwen2": ["qwen2-a", "qwen2-b"], quantized: ["ct-w4a16-a"]]

    static func request(_ name: String) -> LoRARequest {
        LoRARequest(name: name, id: 1 + adapters.values.flatMap { $0 }.sorted().firstIndex(of: name)!,
                    path: lora.appendingPathComponent(name).path)
    }

    static func llm(_ model: String, maxLoras: Int, async: Bool = true, ranks: Int = 1,
                    configure: (inout EngineArgs) -> Void = { _ in }) throws -> LLM {
        var args = EngineArgs(model: goldens.appendingPathComponent(model))
        args.blockSize = 4
        args.asyncScheduling = async
        args.enableLoRA = true
        args.maxLoras = maxLoras
        args.tensorParallelSize = ranks
        configure(&args)
        let devices = ranks == 1 ? EngineDevices(CPUBackend())
            : EngineDevices(backends: (0..<ranks).map { _ in CPUBackend(numThreads: 1) }, communicators: CPUCommunicator.group(size: ranks))
        return try LLM(args: args, devices: devices)
    }

    /// Every case of a model — base and each adapter, every prompt — in one step: each row's logits equal PEFT's
    /// merged model's within 1e-4 (all positions of the longest prompt too). The 4-bit base (compressed-tensors
    /// W4A16) against PEFT on the model compressed-tensors decompressed.
    @Test(arguments: ["llama", "qwen2", quantized]) func mixedBatchLogitsMatchPEFT(model: String) throws {
        let llm = try Self.llm(model, maxLoras: Self.adapters[model]!.count)
        let runner = llm.core.runner
        let cases = Self.golden.cases.filter { $0.model == model }
        let slots = try runner.activateLoRAs(Set(cases.compactMap { $0.adapter.map(Self.request) }))
        var nextBlock: Int32 = 0
        let sequences = cases.map { c -> StepSequence in
            let prompt = Self.golden.prompts[c.prompt_index]
            let blocks = (prompt.count + 3) / 4
            defer { nextBlock += Int32(blocks) }
            return StepSequence(tokenIds: prompt.map(Int32.init), numComputedTokens: 0, blockIds: (0..<Int32(blocks)).map { nextBlock + $0 },
                                sampling: SamplingRow(), loraSlot: c.adapter.map { slots[Self.request($0).id]! })
        }
        let rows = try runner.logitsOfEveryToken(sequences)
        var offset = 0
        for (c, sequence) in zip(cases, sequences) {
            let count = sequence.tokenIds.count
            defer { offset += count }
            let label = "\(model) + \(c.adapter ?? "no adapter"), prompt \(c.prompt_index)"
            #expect(maxDifference(rows[offset + count - 1], c.last_logits, model: model) < 1e-4, "\(label): last position")
            if let all = c.all_logits {
                for (j, expected) in all.enumerated() {
                    #expect(maxDifference(rows[offset + j], expected, model: model) < 1e-4, "\(label): position \(j)")
                }
            }
        }
    }

    /// The largest difference of two logit rows; for the 4-bit base (hidden 128, whose logits sum longer dot products)
    /// the relative error ‖a − b‖ / ‖b‖, as QuantizedParityTests measures the base model alone.
    func maxDifference(_ a: [Float], _ b: [Float], model: String = "") -> Float {
        guard model == Self.quantized else { return zip(a, b).map { abs($0 - $1) }.max() ?? .infinity }
        let difference = zip(a, b).reduce(Float(0)) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
        return (difference / b.reduce(0) { $0 + $1 * $1 }).squareRoot()
    }

    /// The whole engine, greedy: every request of every adapter (and the base) at once, three copies each, gives
    /// PEFT's tokens — with a slot per adapter, and with one slot (the scheduler runs one adapter at a time beside
    /// base requests, and adapters take turns in the slot). No block leaks.
    @Test(arguments: [("llama", 3, true), ("llama", 1, true), ("llama", 2, false), ("qwen2", 1, false), ("qwen2", 2, true),
                      (quantized, 1, true)])
    func greedyThroughTheEngine(model: String, maxLoras: Int, async: Bool) throws {
        let llm = try Self.llm(model, maxLoras: maxLoras, async: async)
        try Self.checkGreedy(llm, model: model)
    }

    static func checkGreedy(_ llm: LLM, model: String) throws {
        let cases = Array(repeating: golden.cases.filter { $0.model == model }, count: 3).flatMap { $0 }
        var params = SamplingParams()
        params.temperature = 0
        params.maxTokens = 16
        params.ignoreEos = true
        let outputs = try llm.generate(cases.map { golden.prompts[$0.prompt_index] }, params: Array(repeating: params, count: cases.count),
                                       loras: cases.map { $0.adapter.map(request) })
        for (c, output) in zip(cases, outputs) {
            #expect(output.outputs[0].tokenIds == c.greedy_token_ids, "\(model) + \(c.adapter ?? "no adapter"), prompt \(c.prompt_index)")
        }
        let stats = llm.core.stats()
        #expect(stats.numFreeBlocks == stats.numTotalBlocks, "blocks leaked: \(stats.numFreeBlocks) free of \(stats.numTotalBlocks)")
    }

    /// Tensor parallelism: column-parallel linears hold their rows of B, row-parallel ones their columns of A, and the
    /// all-reduce sums the ranks' partial deltas.
    @Test(arguments: [2, 4]) func tensorParallel(ranks: Int) throws {
        try Self.checkGreedy(try Self.llm("llama", maxLoras: 3, ranks: ranks), model: "llama")
        try Self.checkGreedy(try Self.llm("qwen2", maxLoras: 2, ranks: ranks), model: "qwen2")
    }

    /// The prefix cache is keyed by adapter: the same prompt under another adapter (or none) computes its own KV.
    @Test func prefixCacheKeyedByAdapter() throws {
        let llm = try Self.llm("llama", maxLoras: 2)
        let prompt = Self.golden.prompts[2]
        var params = SamplingParams()
        params.maxTokens = 1
        func cached(_ lora: LoRARequest?) throws -> Int {
            try llm.generate([prompt], params: [params], loras: [lora])[0].numCachedTokens
        }
        let a = Self.request("llama-a"), b = Self.request("llama-b")
        #expect(try cached(a) == 0)
        #expect(try cached(a) == 32, "the same adapter hits its prompt's full blocks")
        #expect(try cached(b) == 0, "another adapter never reads llama-a's blocks")
        #expect(try cached(nil) == 0, "nor does the base model")
        #expect(try cached(b) == 32)
        // The server gives a name loaded again a new id: its blocks start over.
        #expect(try cached(LoRARequest(name: a.name, id: 99, path: a.path)) == 0)
    }

    /// An adapter with requests in the engine stays in the host cache past --max-cpu-loras: reading another does not
    /// evict it, so its steps never go back to its folder (here deleted once its requests are in).
    @Test func anAdapterInUseIsNotEvicted() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lora-pinned-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: Self.lora.appendingPathComponent("llama-a"), to: folder)
        let llm = try Self.llm("llama", maxLoras: 1) { $0.maxCPULoras = 1 }
        let pinned = LoRARequest(name: "pinned", id: 40, path: folder.path), other = Self.request("llama-b")
        var params = SamplingParams()
        params.maxTokens = 4
        try llm.core.addRequest("a", promptTokenIds: Self.golden.prompts[0], params: params, arrivalTime: 0, lora: pinned)
        try llm.core.addRequest("b", promptTokenIds: Self.golden.prompts[0], params: params, arrivalTime: 0, lora: other)
        try FileManager.default.removeItem(at: folder)
        var finished = 0
        while llm.core.hasUnfinishedRequests {
            finished += try llm.core.step(now: { 0 }).filter(\.isFinished).count
        }
        #expect(finished == 2)
        // Once its request is done it may go: a third adapter's read evicts it, and it cannot be read again.
        try llm.core.addLoRA(Self.request("llama-c"))
        #expect(throws: (any Error).self) { try llm.core.addLoRA(pinned) }
    }

    /// A scheduler without adapter slots refuses a request that names one (rather than passing it over forever).
    @Test func aSchedulerWithoutSlotsRefusesAnAdapter() {
        var scheduler = Scheduler(config: SchedulerConfig(maxModelLen: 64, blockSize: 4, numGPUBlocks: 16))
        #expect(throws: VLLMValidationError.self) {
            try scheduler.addRequest(Request(requestId: "r", promptTokenIds: [1, 2, 3], lora: Self.request("llama-a")))
        }
    }
}
