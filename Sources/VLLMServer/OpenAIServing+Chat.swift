import Foundation
import VLLMCore
import VLLMEngine
import VLLMGrammar

extension OpenAIServing {
    /// `POST /v1/chat/completions`.
    public func chatCompletions(body: Data) async -> ServingResponse {
        await serve { () async throws(OpenAIError) -> ServingResponse in
            guard model.generates else { throw unsupported("Chat Completions API") }
            let request = try JSONCoding.decodeRequest(ChatCompletionRequest.self, from: body)
            let lora = try resolveModel(request.model)
            try request.validate()
            return try await createChatCompletion(request, body: body, lora: lora)
        }
    }

    /// Renders a conversation with the model's chat template (vLLM's `apply_hf_chat_template`),
    /// including `continue_final_message`, which cuts the text right after the final message.
    func renderChat(
        messages: [JSONValue], addGenerationPrompt: Bool, continueFinalMessage: Bool, tools: [JSONValue]?,
        extra: [String: JSONValue], requestBody: Data?
    ) throws(OpenAIError) -> String {
        guard let renderer = model.chatRenderer else {
            throw .badRequest(
                "As of transformers v4.44, default chat template is no longer allowed, so you must provide a chat "
                    + "template if the tokenizer does not define one.")
        }
        let rendered: String
        do {
            rendered = try renderer.render(
                messages: messages, addGenerationPrompt: addGenerationPrompt, tools: tools, extra: extra,
                requestBody: requestBody)
        } catch {
            throw .badRequest("The chat template could not be applied to the messages: \(error)", param: "messages")
        }
        guard continueFinalMessage else { return rendered }
        let final = messages.last?.objectValue?["content"]?.stringValue ?? ""
        for candidate in [final, final.trimmingCharacters(in: .whitespacesAndNewlines)] where !candidate.isEmpty {
            if let range = rendered.range(of: candidate, options: .backwards) {
                return String(rendered[..<range.upperBound])
            }
        }
        throw .badRequest(
            "continue_final_message is set but the final message does not appear in the chat after applying the "
                + "chat template! This can happen if the chat template deletes portions of the final message.",
            param: "continue_final_message")
    }

    private func createChatCompletion(_ request: ChatCompletionRequest, body: Data, lora: LoRARequest?) async throws(OpenAIError)
        -> ServingResponse
    {
        let prompt = try renderChat(
            messages: request.messages, addGenerationPrompt: request.addGenerationPrompt,
            continueFinalMessage: request.continueFinalMessage, tools: request.tools,
            extra: request.chatTemplateKwargs ?? [:], requestBody: body)
        let promptTokenIds = try tokenize(prompt, addSpecialTokens: request.addSpecialTokens)
        let budget = try outputBudget(
            promptLength: promptTokenIds.count, requestedMaxTokens: request.requestedMaxTokens,
            maxModelLen: engine.maxModelLen, defaults: model.defaults)
        var params = try request.sampling.samplingParams(
            defaults: model.defaults, maxTokens: budget, logprobs: request.logprobs ? (request.topLogprobs ?? 0) : nil)
        // Tools in the client's key order (their parameter schemas shape the output).
        let tools = request.tools == nil ? nil : (try? SchemaValue.parse(String(decoding: body, as: UTF8.self)))?["tools"]?.arrayValue
        let toolChoice = try ToolChoice.from(request.toolChoice, tools: tools)
        if let schema = toolChoice.outputSchema(tools: tools ?? []) {
            // vLLM's ToolParser.adjust_request: the tools' schema replaces any other structured output.
            params.structuredOutputs = .json(schema.compactJSON)
        }
        // "required" and a named function always become tool calls; "auto" with a parser has them parsed out of
        // the answer. The hermes and mistral parsers keep special tokens in the text, where their tags may be
        // (their `adjust_request`).
        let parserKind = config.toolCallParser.flatMap(ToolCallParserKind.init(rawValue:))
        let hasTools = !(tools ?? []).isEmpty
        let toolCalls = ToolCallParsing(choice: toolChoice, kind: parserKind, hasTools: hasTools) { [tokenizer] in
            tokenizer.tokenId($0) != nil
        }
        if let parserKind, parserKind.keepsSpecialTokens, hasTools, toolChoice != .none { params.skipSpecialTokens = false }
        let reasoning = config.reasoningParser.flatMap {
            ReasoningParser(name: $0, chatTemplateKwargs: request.chatTemplateKwargs, tokens: ReasoningTokens(tokenizer))
        }
        // vLLM's engine-based qwen3 parser (its adjust_request) keeps special tokens in the text.
        if reasoning?.kind == .qwen3 { params.skipSpecialTokens = false }
        if let reasoning, params.structuredOutputs != nil {
            // The schema constrains the answer after the thinking: from the token that ends it on, unless the
            // prompt already ended it (a template with thinking turned off).
            guard let start = reasoning.structuredOutputStart(promptTokenIds: promptTokenIds) else {
                throw .badRequest("A structured output with --reasoning-parser needs <think> and </think> to be single "
                                  + "tokens of the model's tokenizer.", param: "structured_outputs")
            }
            params.structuredOutputsAfterTokenIds = start
        }
        let requestId = "chatcmpl-\(randomRequestID())"
        logRequest(requestId, prompt: prompt, params: params, lora: lora)
        let run = try GenerationRun.submit(
            engine: engine, metrics: metrics, requestIds: [requestId], prompts: [promptTokenIds], params: [params], lora: lora,
            beamSearch: request.sampling.beamSearchOptions(tokenizer: tokenizer))
        let context = ChatContext(
            requestId: requestId, created: Self.now(), modelName: responseModelName(request.model, lora: lora), request: request,
            promptTokenIds: promptTokenIds, n: params.n, toolCalls: toolCalls, reasoning: reasoning,
            hasParser: reasoning != nil || parserKind != nil)
        if request.sampling.isStream {
            return .stream(SSEStream { emit in try await self.streamChat(run: run, context: context, emit: emit) })
        }
        return try await collectChat(run: run, context: context)
    }

    struct ChatContext: Sendable {
        var requestId: String
        var created: Int
        var modelName: String
        var request: ChatCompletionRequest
        var promptTokenIds: [Int]
        var n: Int
        /// Tool calls out of the answer ("required", a named function, or "auto" under
        /// `--enable-auto-tool-choice`), each choice with its own copy; nil: the answer is content.
        var toolCalls: ToolCallParsing?
        /// `--reasoning-parser`: the thinking is cut from the answer, and returned in `reasoning` unless the
        /// request says `include_reasoning: false`.
        var reasoning: ReasoningParser?
        /// Whether the server runs a reasoning or tool-call parser (vLLM's `parser is not None`).
        var hasParser: Bool
        var returnsReasoning: Bool { reasoning != nil && request.includeReasoning }
        /// `include_reasoning: false` under a parser hides the logprobs too, whole and streamed, since their
        /// tokens' text would show the thinking (vLLM's `suppress_metadata`).
        var hidesLogprobs: Bool { hasParser && !request.includeReasoning }
        var numPromptTokens: Int { promptTokenIds.count }
    }

    private func logprobs(for output: CompletionOutput, tokenIds: [Int], logprobs: [TokenLogprobs]?, _ context: ChatContext)
        -> ChatLogProbs?
    {
        guard context.request.logprobs, !context.hidesLogprobs else { return nil }
        return chatLogprobs(
            tokenIds: tokenIds, logprobs: logprobs ?? [], numTop: context.request.topLogprobs ?? 0)
    }

    private func collectChat(run: GenerationRun, context: ChatContext) async throws(OpenAIError) -> ServingResponse {
        var final: RequestOutput?
        do {
            try await run.forEachOutput { _, output in final = output }
        } catch let error as OpenAIError {
            throw error
        } catch is CancellationError {
            throw .badRequest("Client disconnected")
        } catch {
            throw .internalError("Generation failed: \(error)")
        }
        try refuseIfCutByShutdown([final])
        let outputs = (final?.outputs ?? []).sorted { $0.index < $1.index }
        var choices: [ChatChoice] = []
        for output in outputs {
            var message = ChatMessageBody(role: config.responseRole, content: output.text)
            if let parser = context.reasoning {
                let (reasoning, content) = parser.extract(output.text)
                message.hasReasoningFields = context.returnsReasoning
                message.reasoning = context.returnsReasoning ? reasoning : nil
                message.content = content
            }
            var finishedWithToolCalls = false
            if let toolCalls = context.toolCalls {
                (message.content, message.toolCalls, finishedWithToolCalls) = try toolCalls.parse(
                    message.content, finishReason: output.finishReason)
            }
            message.toolCalls = ToolCallBody.allowed(message.toolCalls, parallel: context.request.parallelToolCalls)
            choices.append(ChatChoice(
                index: output.index, message: message,
                logprobs: logprobs(for: output, tokenIds: output.tokenIds, logprobs: output.logprobs, context),
                finishReason: output.finishReason, stopReason: output.stopReason,
                finishedWithToolCalls: finishedWithToolCalls))
        }
        let numGenerated = outputs.reduce(0) { $0 + $1.tokenIds.count }
        return .ok(
            ChatCompletionResponse(
                id: context.requestId, created: context.created, model: context.modelName, choices: choices,
                usage: UsageInfo(promptTokens: context.numPromptTokens, completionTokens: numGenerated),
                systemFingerprint: Self.systemFingerprint,
                promptLogprobs: final?.promptLogprobs.map { promptLogprobs(tokenIds: context.promptTokenIds, logprobs: $0) }))
    }

    private func streamChat(run: GenerationRun, context: ChatContext, emit: (String) async throws -> Void)
        async throws
    {
        let options = context.request.sampling.streamOptions
        let includeUsage = options?.includeUsage ?? false
        let continuousUsage = includeUsage && (options?.continuousUsageStats ?? false)
        var numTokens = Array(repeating: 0, count: context.n)
        var toolStreams = context.toolCalls.map { Array(repeating: $0, count: context.n) } ?? []
        var answerStarted = Array(repeating: false, count: context.n)
        var reasoners = context.reasoning.map { parser in
            (0..<context.n).map { _ in parser.stream(promptTokenIds: context.promptTokenIds) }
        } ?? []
        func chunk(_ choice: ChatChoice) -> ChatCompletionResponse {
            ChatCompletionResponse(
                id: context.requestId, created: context.created, model: context.modelName, choices: [choice],
                // Continuous usage counts the chunk's own choice (vLLM's `previous_num_tokens[i]`).
                usage: continuousUsage
                    ? UsageInfo(promptTokens: context.numPromptTokens, completionTokens: numTokens[choice.index]) : nil,
                isChunk: true)
        }
        try await SSEStream.finishing(emit: emit) {
            // vLLM first sends each choice's role, with empty content.
            for index in 0..<context.n {
                let role = ChatMessageBody(role: config.responseRole, content: "", isDelta: true)
                try await emit(SSEStream.event(chunk(ChatChoice(index: index, message: role, isDelta: true))))
            }
            try await run.forEachOutput { _, output in
                for completion in output.outputs {
                    if completion.deltaText.isEmpty && completion.deltaTokenIds.isEmpty
                        && completion.finishReason == nil
                    {
                        continue
                    }
                    if completion.index < numTokens.count { numTokens[completion.index] += completion.deltaTokenIds.count }
                    var delta = ChatMessageBody(
                        content: completion.deltaText.isEmpty && completion.finishReason != nil
                            ? nil : completion.deltaText, isDelta: true)
                    var calledTools = false
                    var answerDelta = completion.deltaText
                    if completion.index < reasoners.count {
                        // Thinking and answer split as they stream; only the answer goes on to the tool parser.
                        let (reasoning, content) = reasoners[completion.index].feed(
                            completion.deltaText, tokenIds: completion.deltaTokenIds, finished: completion.finishReason != nil)
                        delta.reasoning = context.returnsReasoning ? reasoning : nil
                        delta.content = content
                        answerDelta = content ?? ""
                        if toolStreams.isEmpty && delta.reasoning == nil && content == nil && completion.finishReason == nil { continue }
                    }
                    if completion.index < toolStreams.count {
                        let i = completion.index
                        // Under a reasoning parser, tool parsing begins with the answer (vLLM's tool phase).
                        answerStarted[i] = answerStarted[i] || reasoners.isEmpty || !answerDelta.isEmpty
                        var parsed: ToolCallsDelta?
                        if answerStarted[i] {
                            parsed = try toolStreams[i].parseDelta(answerDelta, finished: completion.finishReason != nil)
                        }
                        delta.content = parsed?.content
                        delta.toolCallDeltas = DeltaToolCall.allowed(parsed?.toolCalls ?? [], parallel: context.request.parallelToolCalls)
                        calledTools = toolStreams[i].toolsStreamed && context.toolCalls?.isNamedFunction != true
                        if parsed == nil && delta.reasoning == nil && completion.finishReason == nil { continue }
                    }
                    var message = chunk(
                        ChatChoice(
                            index: completion.index, message: delta,
                            logprobs: logprobs(
                                for: completion, tokenIds: completion.deltaTokenIds, logprobs: completion.deltaLogprobs,
                                context),
                            finishReason: completion.finishReason, stopReason: completion.stopReason, isDelta: true,
                            finishedWithToolCalls: completion.finishReason != nil && calledTools))
                    if !includeUsage && completion.finishReason != nil {
                        message.systemFingerprint = Self.systemFingerprint
                    }
                    try await emit(SSEStream.event(message))
                }
            }
            if includeUsage {
                let usageChunk = ChatCompletionResponse(
                    id: context.requestId, created: context.created, model: context.modelName, choices: [],
                    usage: UsageInfo(promptTokens: context.numPromptTokens, completionTokens: numTokens.reduce(0, +)),
                    systemFingerprint: Self.systemFingerprint, isChunk: true)
                try await emit(SSEStream.event(usageChunk))
            }
        }
    }
}
