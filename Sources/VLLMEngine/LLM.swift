import FoundationEssentials
import VLLMCompute
import VLLMCore
import VLLMModels

/// The offline API (vLLM's `LLM`): many prompts in, all processed together with continuous
/// batching, results in input order.
public final class LLM {
    public let core: EngineCore
    private var nextRequestId = 0

    public convenience init(args: EngineArgs, backend: any Backend, detokenizer: (any DetokenizerFactory)? = nil) throws {
        try self.init(args: args, devices: EngineDevices(backend), detokenizer: detokenizer)
    }

    /// On one backend per tensor-parallel rank (`args.tensorParallelSize` of them).
    public init(args: EngineArgs, devices: EngineDevices, detokenizer: (any DetokenizerFactory)? = nil) throws {
        core = EngineCore(engine: try args.build(devices: devices), detokenizer: detokenizer)
    }

    public var engine: LoadedEngine { core.engine }
    public var eosTokenIds: [Int] { core.eosTokenIds }

    /// Generates for every prompt; `progress(done, total, generatedTokens)` is called after each step.
    /// `loras`: each prompt's adapter (vLLM's `lora_request`: one for all, or one per prompt; nil entries run the
    /// base model).
    public func generate(_ prompts: [[Int]], params: [SamplingParams], loras: [LoRARequest?]? = nil,
                         progress: ((Int, Int, Int) -> Void)? = nil) throws -> [RequestOutput] {
        precondition(prompts.count == params.count, "one SamplingParams per prompt")
        let loras = loras ?? Array(repeating: nil, count: prompts.count)
        guard loras.count == prompts.count || loras.count == 1 else {
            throw VLLMValidationError("The lengths of prompts (\(prompts.count)) and lora_request (\(loras.count)) must be the same.")
        }
        let lora = { (i: Int) in loras.count == 1 ? loras[0] : loras[i] }
        // Every request is checked before any is enqueued, so a bad one leaves nothing behind.
        for (i, (prompt, p)) in zip(prompts, params).enumerated() { try core.validate(promptTokenIds: prompt, params: p, lora: lora(i)) }
        var ids: [String] = []
        for (i, (prompt, p)) in zip(prompts, params).enumerated() {
            let id = "\(nextRequestId)"
            nextRequestId += 1
            do {
                try core.addRequest(id, promptTokenIds: prompt, params: p, arrivalTime: Self.now(), lora: lora(i))
            } catch {
                for earlier in ids { core.abortRequest(earlier, now: Self.now()) }
                throw error
            }
            ids.append(id)
        }
        var results: [String: RequestOutput] = [:]
        var numGenerated = 0
        while core.hasUnfinishedRequests {
            for output in try core.step(now: Self.now) {
                numGenerated += output.outputs.reduce(0) { $0 + $1.deltaTokenIds.count }
                if output.isFinished { results[output.requestId] = output }
            }
            progress?(results.count, ids.count, numGenerated)
        }
        return ids.map { results[$0]! }
    }

    /// vLLM's `LLM.beam_search`: the best `beamWidth` sequences of every prompt, best first. Each step runs
    /// the live beams of every prompt as one batch (see `BeamSearch`); EOS is the model's first EOS id.
    public func beamSearch(_ prompts: [[Int]], params: BeamSearchParams) throws -> [[BeamSearchSequence]] {
        guard params.beamWidth >= 1 else { throw VLLMValidationError("beam_width must be at least 1, got \(params.beamWidth)", parameter: "n") }
        var searches = prompts.map { BeamSearch(promptTokenIds: $0, params: params, eosTokenId: eosTokenIds.first) }
        while case let live = searches.indices.filter({ !searches[$0].isFinished }), !live.isEmpty {
            let batch = live.flatMap { searches[$0].beams.map(\.tokens) }
            let outputs = try generate(batch, params: Array(repeating: searches[live[0]].stepParams, count: batch.count))
            var offset = 0
            for i in live {
                let count = searches[i].beams.count
                searches[i].advance(outputs[offset..<offset + count].map { ($0.outputs[0].tokenIds[0], $0.outputs[0].logprobs![0]) })
                offset += count
            }
        }
        return searches.map { $0.result() }
    }

    static func now() -> Double { Date().timeIntervalSince1970 }
}

extension GenerationConfig {
    /// vLLM's `--generation-config auto`: the model's generation_config.json values become the
    /// defaults of every request; a request (or flag) that sets a field keeps its own value.
    public func defaultSamplingParams() -> SamplingParams {
        var params = SamplingParams()
        if let temperature { params.temperature = temperature }
        if let topP { params.topP = topP }
        if let topK { params.topK = SamplingParams.topK(fromVLLM: topK) }
        if let minP { params.minP = minP }
        if let repetitionPenalty { params.repetitionPenalty = repetitionPenalty }
        if let maxNewTokens { params.maxTokens = maxNewTokens }
        return params
    }
}
