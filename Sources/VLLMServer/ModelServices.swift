import Foundation
import VLLMCore
import VLLMEngine

/// What the server needs of a tokenizer: the lead adapts `VLLMTokenizers.Tokenizer` to it.
///
/// Output text arrives already detokenized from the engine; this is for prompts, `/tokenize`,
/// `/detokenize` and the token strings of logprobs.
public protocol TextTokenizer: Sendable {
    func encode(_ text: String, addSpecialTokens: Bool) throws -> [Int]
    func decode(_ tokenIds: [Int], skipSpecialTokens: Bool) throws -> String
    /// The text of one token as logprobs show it (vLLM decodes each id on its own).
    func tokenText(_ tokenId: Int) -> String
    /// The vocabulary's own spelling of a token (`▁Once`, `Ġworld`), as `/tokenize`'s `token_strs`
    /// shows it (transformers' `convert_ids_to_tokens`); `nil` where the tokenizer has none.
    func tokenString(_ tokenId: Int) -> String?
    /// The id of a token of the vocabulary (added tokens included), by its spelling (`get_vocab()[token]`).
    func tokenId(_ token: String) -> Int?
    var vocabSize: Int { get }
    /// A text pair as a cross-encoder reads it (HF tokenizers' `encode(a, b)`): ids and token type ids.
    func encodePair(_ a: String, _ b: String) throws -> (ids: [Int], typeIds: [Int])
    /// An upper bound on the UTF-8 bytes of text one token covers (the longest token's spelling):
    /// a prompt of more than `maxModelLen × this` bytes cannot fit, and is refused before tokenizing.
    var longestTokenBytes: Int { get }
}

/// A tokenizer without a pair template.
public struct PairEncodingUnsupported: Error, CustomStringConvertible {
    public var description: String { "this tokenizer does not encode text pairs" }
}

extension TextTokenizer {
    public var longestTokenBytes: Int { Int.max / (1 << 32) }
    public func encodePair(_ a: String, _ b: String) throws -> (ids: [Int], typeIds: [Int]) { throw PairEncodingUnsupported() }
    public func tokenString(_ tokenId: Int) -> String? { nil }
    public func tokenId(_ token: String) -> Int? { nil }

    public func tokenText(_ tokenId: Int) -> String {
        (try? decode([tokenId], skipSpecialTokens: false)) ?? ""
    }
}

/// What the server needs of a chat template: the lead adapts `VLLMTemplates.ChatTemplate` to it.
///
/// `messages` are the request's, each an object with `role` and `content` (content-part arrays
/// already joined into one string, as vLLM's "string" content format does). `JSONValue` objects do
/// not keep key order, which `tojson` in a template shows; `requestBody`, the raw request they come
/// from (its `messages`, `tools` and `chat_template_kwargs`), says the order the client sent.
public protocol ChatRenderer: Sendable {
    func render(
        messages: [JSONValue], addGenerationPrompt: Bool, tools: [JSONValue]?, extra: [String: JSONValue],
        requestBody: Data?
    ) throws -> String
}

/// Everything `serve` hands the server: the engine, and what speaks the model's language.
public struct ServedModel: Sendable {
    public var engine: any EngineClient
    public var tokenizer: any TextTokenizer
    /// `nil` when the model has no chat template and none was given: chat requests get a 400.
    public var chatRenderer: (any ChatRenderer)?
    /// `--served-model-name`; the first is the one responses name.
    public var names: [String]
    /// The model directory (vLLM's `root` in `/v1/models`).
    public var root: String
    public var defaults: DefaultSamplingParams
    /// A pooling model's embedder (`/v1/embeddings`, `/pooling`); nil for a generation model.
    public var embedder: (any EmbeddingClient)?

    public init(
        engine: any EngineClient, tokenizer: any TextTokenizer, chatRenderer: (any ChatRenderer)?, names: [String],
        root: String, defaults: DefaultSamplingParams = DefaultSamplingParams(), embedder: (any EmbeddingClient)? = nil
    ) {
        self.embedder = embedder
        self.engine = engine
        self.tokenizer = tokenizer
        self.chatRenderer = chatRenderer
        self.names = names.isEmpty ? [root] : names
        self.root = root
        self.defaults = defaults
    }

    public var primaryName: String { names[0] }

    /// vLLM's task names of what the model serves: "embed" for an embedding model, "score" for a
    /// cross-encoder, else "generate".
    public var supportedTasks: [String] {
        guard let embedder else { return ["generate"] }
        return embedder.isCrossEncoder ? ["score"] : ["embed"]
    }
    public var generates: Bool { embedder == nil }
}

/// The engine of a served pooling model: it generates nothing (the generation routes answer 404 first).
public struct NoGenerationEngine: EngineClient {
    public let maxModelLen: Int
    public init(maxModelLen: Int) { self.maxModelLen = maxModelLen }
    public func generate(requestId: String, promptTokenIds: [Int], params: SamplingParams, lora: LoRARequest?) throws
        -> AsyncThrowingStream<RequestOutput, Error> {
        throw VLLMValidationError("this model serves embeddings, not generation")
    }
    public func abort(requestId: String) {}
    public func abortAll() {}
    public func stats() -> EngineStats { EngineStats() }
}
