import Foundation
import VLLMCore
import VLLMEngine

/// `POST /v1/embeddings` and `POST /pooling` (vLLM's serving_embedding / serving_pooling), on a pooling
/// model; a generation model answers 404 naming what it serves, as do the generation routes on a pooling
/// model.
extension OpenAIServing {
    public func embeddings(body: Data) async -> ServingResponse {
        await pool(body: body, object: "embedding", idPrefix: "embd", api: "Embeddings API")
    }

    public func pooling(body: Data) async -> ServingResponse {
        await pool(body: body, object: "pooling", idPrefix: "pooling", api: "Pooling API")
    }

    /// The 404 of an endpoint of a task the served model does not have.
    func unsupported(_ api: String) -> OpenAIError {
        OpenAIError(status: 404, message: "The model `\(model.primaryName)` does not support the \(api); it serves: "
                        + model.supportedTasks.joined(separator: ", ") + ".", type: "NotFoundError")
    }

    private func pool(body: Data, object: String, idPrefix: String, api: String) async -> ServingResponse {
        await serve { () async throws(OpenAIError) -> ServingResponse in
            guard let embedder = model.embedder, !embedder.isCrossEncoder else { throw unsupported(api) }
            let request = try JSONCoding.decodeRequest(EmbeddingRequest.self, from: body)
            try checkModel(request.model)
            let format = request.encodingFormat ?? "float"
            guard format == "float" || format == "base64" else {
                throw .badRequest("encoding_format must be 'float' or 'base64', got '\(format)'", param: "encoding_format")
            }
            // The key at all, even null (vLLM checks `"normalize" in data`; decoding alone cannot tell null from absent).
            if ((try? JSONSerialization.jsonObject(with: body)) as? [String: Any])?["normalize"] != nil {
                throw .badRequest("Parameter `normalize` was removed; use `use_activation` instead.", param: "normalize")
            }
            if let dimensions = request.dimensions {  // vLLM's checks and words (PoolingParams)
                do {
                    try embedder.check(dimensions: dimensions, modelName: model.primaryName)
                } catch let error as VLLMValidationError {
                    throw .validation(error)
                } catch {
                    throw .badRequest("\(error)", param: "dimensions")
                }
            }
            guard request.input.count > 0 else { throw .badRequest("input must not be empty", param: "input") }
            var sequences: [[Int]]
            switch request.input {
            case .texts(let texts):
                sequences = []
                for text in texts { sequences.append(try tokenize(text, addSpecialTokens: request.addSpecialTokens ?? true)) }
            case .tokens(let lists):
                for ids in lists { try checkTokenIds(ids, param: "input") }
                sequences = lists
            }
            if let limit = try truncationLimit(request.truncatePromptTokens, embedder: embedder) {
                sequences = sequences.map { Array($0.suffix(limit)) }
            }
            let vectors = try await run(embedder, sequences, tokenTypes: nil,
                                        options: PoolingOptions(dimensions: request.dimensions, useActivation: request.useActivation))
            let promptTokens = sequences.reduce(0) { $0 + $1.count }
            let items = vectors.enumerated().map { index, vector in
                EmbeddingResponse.Item(index: index, object: object,
                                       vector: format == "base64" ? .base64(Self.base64(vector)) : .floats(vector))
            }
            return .ok(EmbeddingResponse(id: Self.requestId(idPrefix),
                                         created: Self.now(), model: model.primaryName, data: items,
                                         usage: UsageInfo(promptTokens: promptTokens, completionTokens: 0)))
        }
    }

    /// `truncate_prompt_tokens` as vLLM reads it: keep the last N tokens, -1 for the model's length; nil: none.
    func truncationLimit(_ keep: Int?, embedder: any EmbeddingClient) throws(OpenAIError) -> Int? {
        guard let keep else { return nil }
        let limit = keep == -1 ? embedder.maxModelLen : keep
        guard limit >= 1, limit <= embedder.maxModelLen else {
            throw .badRequest("truncate_prompt_tokens must be -1 or in [1, \(embedder.maxModelLen)], got \(keep)",
                              param: "truncate_prompt_tokens")
        }
        return limit
    }

    /// The embedder's outputs, its refusals as the server answers them (400 for an input it cannot take,
    /// 503 once it has shut down).
    func run(_ embedder: any EmbeddingClient, _ sequences: [[Int]], tokenTypes: [[Int]]?,
             options: PoolingOptions = PoolingOptions()) async throws(OpenAIError) -> [[Float]] {
        do {
            return try await embedder.embed(sequences, tokenTypes: tokenTypes, options: options)
        } catch let error as VLLMValidationError {
            throw .validation(error)
        } catch is EmbeddingEngineStopped {
            throw .shuttingDown
        } catch {
            throw .internalError("The pooling model failed: \(error)")
        }
    }

    /// Little-endian float32 bytes in base64, as vLLM (`np.float32(...).tobytes()`) and OpenAI encode them.
    static func base64(_ vector: [Float]) -> String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(4 * vector.count)
        for value in vector {
            let bits = value.bitPattern.littleEndian
            bytes += [UInt8(bits & 0xff), UInt8((bits >> 8) & 0xff), UInt8((bits >> 16) & 0xff), UInt8(bits >> 24)]
        }
        return Data(bytes).base64EncodedString()
    }
}
