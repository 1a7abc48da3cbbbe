import FoundationEssentials
import VLLMCompute
import VLLMCore
import VLLMModels

/// The offline API (vLLM's `LLM`): many prompts in, all processed together with continuous
/// batching, results in input order.
public final class LLM {
    public let engine: LoadedEngine
    var processor: OutputProcessor
    private var nextRequestId = 0

    public init(args: EngineArgs, backend: any Backend, detokenizer: (any DetokenizerFactory)? = nil) throws {
        engine = try args.build(backend: backend)
        processor = OutputProcessor(detokenizerFactory: detokenizer)
    }

    /// The model's EOS ids: generation_config.json's, else config.json's. The first is the request's
    /// EOS; the others stop generation like stop_token_ids (vLLM reads generation_config the same way).
    public var eosTokenIds: [Int] {
        engine.generationConfig.eosTokenIds.isEmpty ? engine.config.eosTokenIds : engine.generationConfig.eosTokenIds
    }

    /// Generates for every prompt; `progress(done, total, generatedTokens)` is called after each step.
    public func generate(_ prompts: [[Int]], params: [SamplingParams],
                         progress: ((Int, Int, Int) -> Void)? = nil) throws -> [RequestOutput] {
        precondition(prompts.count == params.count, "one SamplingParams per prompt")
        let core = engine.core
        // Every request is checked before any is enqueued, so a bad one leaves nothing behind.
        for p in params { try engine.validate(p) }
        var ids: [String] = []
        for (prompt, p) in zip(prompts, params) {
            let p = p.stoppingAlsoAt(extraEOS: eosTokenIds)
            let id = "\(nextRequestId)"
            nextRequestId += 1
            let children = processor.addRequest(requestId: id, promptTokenIds: prompt, params: p,
                                                 eosTokenId: eosTokenIds.first, arrivalTime: Self.now())
            do {
                for child in children { try core.addRequest(child) }
            } catch {
                // Leave nothing behind (a prompt the scheduler rejects): drop what was added before it.
                for child in children { core.finishRequests([child.requestId], reason: .abort) }
                _ = processor.abort(requestId: id, now: Self.now())
                for earlier in ids { core.finishRequests(processor.childIds(of: earlier), reason: .abort); _ = processor.abort(requestId: earlier, now: Self.now()) }
                throw error
            }
            ids.append(id)
        }
        var results: [String: RequestOutput] = [:]
        var numGenerated = 0
        while core.hasUnfinishedRequests {
            let step = try core.step()
            let now = Self.now()
            for id in step.newlyScheduledIds { processor.markScheduled(id, now: now) }
            for (id, logprobs) in step.promptLogprobs { processor.addPromptLogprobs(id, start: logprobs.start, values: logprobs.values) }
            numGenerated += step.outputs.reduce(0) { $0 + $1.output.newTokenIds.count }
            let (outputs, stopped) = processor.process(step.outputs, now: now)
            for (childId, stop) in stopped { core.finishRequests([childId], reason: .stop, stopReason: .string(stop)) }
            for output in outputs where output.isFinished { results[output.requestId] = output }
            progress?(results.count, ids.count, numGenerated)
        }
        return ids.map { results[$0]! }
    }

    static func now() -> Double { Date().timeIntervalSince1970 }
}

extension SamplingParams {
    /// vLLM reads every EOS id of generation_config.json: the first is the request's EOS, the others
    /// stop it like stop_token_ids (unless `ignoreEos`).
    func stoppingAlsoAt(extraEOS eosTokenIds: [Int]) -> SamplingParams {
        var params = self
        for extra in eosTokenIds.dropFirst() where !ignoreEos && !params.stopTokenIds.contains(extra) {
            params.stopTokenIds.append(extra)
        }
        return params
    }
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
