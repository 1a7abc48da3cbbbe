import Foundation
import VLLMCore
import VLLMEngine

/// `POST /api/chat` body: one prompt, a temperature and a length; nothing else to learn.
struct SimpleChatRequest: Decodable, Sendable {
    var prompt: String
    var temperature: Float?
    var maxTokens: Int?

    enum CodingKeys: String, CodingKey {
        case prompt, temperature
        case maxTokens = "max_tokens"
    }
}

extension OpenAIServing {
    /// `POST /api/chat` `{"prompt", "temperature", "max_tokens"}` → `{"response": "..."}`, for
    /// scripts that want one string. The prompt is sent as one user message through the chat
    /// template when the model has one, else as plain text.
    public func simpleChat(body: Data) async -> ServingResponse {
        await serve { () async throws(OpenAIError) -> ServingResponse in
            guard model.generates else { throw unsupported("Ollama chat API") }
            let request = try JSONCoding.decodeRequest(SimpleChatRequest.self, from: body)
            let text: String
            let addSpecialTokens: Bool
            if model.chatRenderer != nil {
                text = try renderChat(
                    messages: [.object(["role": .string("user"), "content": .string(request.prompt)])],
                    addGenerationPrompt: true, continueFinalMessage: false, tools: nil, extra: [:], requestBody: nil)
                addSpecialTokens = false
            } else {
                text = request.prompt
                addSpecialTokens = true
            }
            let promptTokenIds = try tokenize(text, addSpecialTokens: addSpecialTokens)
            let budget = try outputBudget(
                promptLength: promptTokenIds.count, requestedMaxTokens: request.maxTokens,
                maxModelLen: engine.maxModelLen, defaults: model.defaults)
            var fields = SamplingFields.empty
            fields.temperature = request.temperature.map(Double.init)
            let params = try fields.samplingParams(defaults: model.defaults, maxTokens: budget, logprobs: nil)
            let requestId = "chat-\(randomRequestID())"
            logRequest(requestId, prompt: text, params: params)
            let run = try GenerationRun.submit(
                engine: engine, metrics: metrics, requestIds: [requestId], prompts: [promptTokenIds], params: [params])
            var final: RequestOutput?
            do {
                try await run.forEachOutput { _, output in final = output }
            } catch let error as OpenAIError {
                throw error
            } catch {
                throw .internalError("Generation failed: \(error)")
            }
            try refuseIfCutByShutdown([final])
            return .ok(["response": final?.outputs.first?.text ?? ""])
        }
    }
}
