import FoundationEssentials

/// generation_config.json: the model's EOS ids and default sampling values (vLLM's
/// `--generation-config auto` reads the same file).
public struct GenerationConfig: Sendable, Equatable {
    public var bosTokenId: Int?
    public var eosTokenIds: [Int] = []
    public var temperature: Float?
    public var topP: Float?
    public var topK: Int?
    public var minP: Float?
    public var repetitionPenalty: Float?
    public var maxNewTokens: Int?

    public init() {}

    /// Reads `generation_config.json` in `directory`; a folder without one gives an empty config.
    public static func load(modelDirectory: URL) throws -> GenerationConfig {
        let url = modelDirectory.appendingPathComponent("generation_config.json")
        guard FileManager.default.fileExists(atPath: url.path) else { return GenerationConfig() }
        guard let data = try? Data(contentsOf: url) else { throw ModelError("\(url.path): unreadable") }
        struct Raw: Decodable {
            var bos_token_id: Int?
            var eos_token_id: IntOrList?
            var temperature: Float?
            var top_p: Float?
            var top_k: Int?
            var min_p: Float?
            var repetition_penalty: Float?
            var max_new_tokens: Int?
        }
        let raw: Raw
        do {
            raw = try JSONDecoder().decode(Raw.self, from: data)
        } catch {
            throw ModelError("\(url.path): not a valid generation_config.json: \(ModelConfig.describe(error))")
        }
        var config = GenerationConfig()
        config.bosTokenId = raw.bos_token_id
        config.eosTokenIds = raw.eos_token_id?.values ?? []
        config.temperature = raw.temperature
        config.topP = raw.top_p
        config.topK = raw.top_k
        config.minP = raw.min_p
        config.repetitionPenalty = raw.repetition_penalty
        config.maxNewTokens = raw.max_new_tokens
        return config
    }
}
