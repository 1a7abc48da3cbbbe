import Foundation
import VLLMCore
import VLLMEngine

extension OpenAIServing {
    /// `POST /v1/completions`.
    public func completions(body: Data) async -> ServingResponse {
        await serve { () async throws(OpenAIError) -> ServingResponse in
            guard model.generates else { throw unsupported("Completions API") }
            let request = try JSONCoding.decodeRequest(CompletionRequest.self, from: body)
            let lora = try resolveModel(request.model)
            try request.validate()
            return try await createCompletion(request, lora: lora)
        }
    }

    private struct PreparedPrompt {
        var text: String
        var tokenIds: [Int]
    }

    private func createCompletion(_ request: CompletionRequest, lora: LoRARequest?) async throws(OpenAIError) -> ServingResponse {
        var prompts: [PreparedPrompt] = []
        for item in request.prompt?.prompts ?? [] {
            switch item {
            case .text(let text):
                prompts.append(
                    PreparedPrompt(text: text, tokenIds: try tokenize(text, addSpecialTokens: request.addSpecialTokens)))
            case .tokens(let ids):
                try checkTokenIds(ids, param: "prompt")
                prompts.append(PreparedPrompt(text: try decode(ids, skipSpecialTokens: false), tokenIds: ids))
            }
        }
        // vLLM: `echo` with `max_tokens=0` returns the prompt alone (it generates one token and drops it).
        let echoOnly = request.echo && request.maxTokens == 0
        var params: [SamplingParams] = []
        for prompt in prompts {
            let budget = try outputBudget(
                promptLength: prompt.tokenIds.count, requestedMaxTokens: request.maxTokens,
                maxModelLen: engine.maxModelLen, defaults: model.defaults)
            var p = try request.sampling.samplingParams(
                defaults: model.defaults, maxTokens: echoOnly ? 1 : budget, logprobs: request.logprobs)
            // vLLM: echo with logprobs asks for the prompt's logprobs too, unless prompt_logprobs says how many.
            if request.echo, p.promptLogprobs == nil, let numTop = request.logprobs { p.promptLogprobs = numTop }
            params.append(p)
        }
        let requestId = "cmpl-\(randomRequestID())"
        let ids = prompts.indices.map { "\(requestId)-\($0)" }
        for (index, prompt) in prompts.enumerated() { logRequest(ids[index], prompt: prompt.text, params: params[index], lora: lora) }
        let run = try GenerationRun.submit(
            engine: engine, metrics: metrics, requestIds: ids, prompts: prompts.map(\.tokenIds), params: params, lora: lora,
            beamSearch: request.sampling.beamSearchOptions(tokenizer: tokenizer))
        let context = CompletionContext(
            requestId: requestId, created: Self.now(), modelName: responseModelName(request.model, lora: lora),
            request: request, prompts: prompts.map { ($0.text, $0.tokenIds) }, echoOnly: echoOnly)
        if request.sampling.isStream {
            return .stream(SSEStream { emit in try await self.streamCompletion(run: run, context: context, emit: emit) })
        }
        return try await collectCompletion(run: run, context: context)
    }

    struct CompletionContext: Sendable {
        var requestId: String
        var created: Int
        var modelName: String
        var request: CompletionRequest
        var prompts: [(text: String, tokenIds: [Int])]
        var echoOnly: Bool
        var n: Int { request.sampling.n ?? 1 }
    }

    private func collectCompletion(run: GenerationRun, context: CompletionContext) async throws(OpenAIError)
        -> ServingResponse
    {
        var finals: [RequestOutput?] = Array(repeating: nil, count: context.prompts.count)
        do {
            try await run.forEachOutput { index, output in finals[index] = output }
        } catch let error as OpenAIError {
            throw error
        } catch is CancellationError {
            throw .badRequest("Client disconnected")
        } catch {
            throw .internalError("Generation failed: \(error)")
        }
        try refuseIfCutByShutdown(finals)
        var choices: [CompletionChoice] = []
        var numPromptTokens = 0
        var numGenerated = 0
        for (promptIndex, final) in finals.enumerated() {
            guard let final else { continue }
            let prompt = context.prompts[promptIndex]
            for output in final.outputs.sorted(by: { $0.index < $1.index }) {
                let generated = context.echoOnly ? [] : output.tokenIds
                var text = context.echoOnly ? "" : output.text
                var tokenIds = generated
                var logprobs: [TokenLogprobs?] = (context.echoOnly ? [] : output.logprobs ?? []).map { $0 }
                if context.request.echo {
                    text = prompt.text + text
                    tokenIds = prompt.tokenIds + generated
                    logprobs = (final.promptLogprobs ?? Array(repeating: nil, count: prompt.tokenIds.count)) + logprobs
                }
                let choiceLogprobs = context.request.logprobs.map { numTop in
                    completionLogprobs(tokenIds: tokenIds, logprobs: logprobs, numTop: numTop, initialTextOffset: 0)
                }
                choices.append(
                    CompletionChoice(
                        index: choices.count, text: text, logprobs: choiceLogprobs, finishReason: output.finishReason,
                        stopReason: output.stopReason,
                        promptLogprobs: final.promptLogprobs.map { promptLogprobs(tokenIds: prompt.tokenIds, logprobs: $0) }))
                numGenerated += output.tokenIds.count
            }
            numPromptTokens += prompt.tokenIds.count
        }
        return .ok(
            CompletionResponse(
                id: context.requestId, created: context.created, model: context.modelName, choices: choices,
                usage: UsageInfo(promptTokens: numPromptTokens, completionTokens: numGenerated),
                systemFingerprint: Self.systemFingerprint))
    }

    private func streamCompletion(
        run: GenerationRun, context: CompletionContext, emit: (String) async throws -> Void
    ) async throws {
        let numChoices = context.n * context.prompts.count
        var previousTextLengths = Array(repeating: 0, count: numChoices)
        var previousNumTokens = Array(repeating: 0, count: numChoices)
        var hasEchoed = Array(repeating: false, count: numChoices)
        let options = context.request.sampling.streamOptions
        let includeUsage = options?.includeUsage ?? false
        let continuousUsage = includeUsage && (options?.continuousUsageStats ?? false)
        try await SSEStream.finishing(emit: emit) {
            try await run.forEachOutput { promptIndex, output in
                let prompt = context.prompts[promptIndex]
                for completion in output.outputs {
                    let choiceIndex = completion.index + promptIndex * context.n
                    var deltaText = context.echoOnly ? "" : completion.deltaText
                    var deltaTokenIds = context.echoOnly ? [] : completion.deltaTokenIds
                    var deltaLogprobs: [TokenLogprobs?] =
                        (context.echoOnly ? [] : completion.deltaLogprobs ?? []).map { $0 }
                    if context.request.echo && !hasEchoed[choiceIndex] {
                        deltaText = prompt.text + deltaText
                        deltaTokenIds = prompt.tokenIds + deltaTokenIds
                        deltaLogprobs = (output.promptLogprobs ?? Array(repeating: nil, count: prompt.tokenIds.count))
                            + deltaLogprobs
                        hasEchoed[choiceIndex] = true
                    } else if deltaText.isEmpty && deltaTokenIds.isEmpty && completion.finishReason == nil {
                        continue
                    }
                    let logprobs = context.request.logprobs.map { numTop in
                        completionLogprobs(
                            tokenIds: deltaTokenIds, logprobs: deltaLogprobs, numTop: numTop,
                            initialTextOffset: previousTextLengths[choiceIndex])
                    }
                    previousTextLengths[choiceIndex] += deltaText.unicodeScalars.count
                    previousNumTokens[choiceIndex] += context.echoOnly ? 0 : completion.deltaTokenIds.count
                    var chunk = CompletionResponse(
                        id: context.requestId, created: context.created, model: context.modelName,
                        choices: [
                            CompletionChoice(
                                index: choiceIndex, text: deltaText, logprobs: logprobs,
                                finishReason: completion.finishReason, stopReason: completion.stopReason)
                        ], isChunk: true)
                    if continuousUsage {
                        chunk.usage = UsageInfo(
                            promptTokens: prompt.tokenIds.count, completionTokens: previousNumTokens[choiceIndex])
                    }
                    if !includeUsage && completion.finishReason != nil {
                        chunk.systemFingerprint = Self.systemFingerprint
                    }
                    try await emit(SSEStream.event(chunk))
                }
            }
            if includeUsage {
                let numPromptTokens = context.prompts.reduce(0) { $0 + $1.tokenIds.count }
                let usageChunk = CompletionResponse(
                    id: context.requestId, created: context.created, model: context.modelName, choices: [],
                    usage: UsageInfo(promptTokens: numPromptTokens, completionTokens: previousNumTokens.reduce(0, +)),
                    systemFingerprint: Self.systemFingerprint, isChunk: true)
                try await emit(SSEStream.event(usageChunk))
            }
        }
    }
}

/// Wraps a failure to write to the client, so the stream stops instead of reporting it in-band.
struct StreamEmitError: Error {
    var underlying: any Error
}

extension OpenAIError {
    var info: ErrorResponseBody.Info {
        .init(message: message, type: type, param: param, code: status)
    }
}
