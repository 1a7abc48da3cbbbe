import Foundation

extension Tokenizer {
    /// Loads a model folder's tokenizer: tokenizer.json (preferred) or the legacy vocab.json + merges.txt
    /// pair, with tokenizer_config.json and special_tokens_map.json when present.
    public static func load(modelDirectory: URL) throws -> Tokenizer {
        let directory = modelDirectory.path
        let config = try loadConfig(modelDirectory: modelDirectory)
        let fileManager = FileManager.default
        let tokenizerJSON = modelDirectory.appendingPathComponent("tokenizer.json")
        if fileManager.fileExists(atPath: tokenizerJSON.path) {
            let json = try JSONValue.parse(try readBytes(tokenizerJSON), source: tokenizerJSON.path)
            return try Tokenizer(tokenizerJSON: json, config: config)
        }
        let vocab = modelDirectory.appendingPathComponent("vocab.json")
        let merges = modelDirectory.appendingPathComponent("merges.txt")
        if fileManager.fileExists(atPath: vocab.path) && fileManager.fileExists(atPath: merges.path) {
            let vocabJSON = try JSONValue.parse(try readBytes(vocab), source: vocab.path)
            let mergesText = String(decoding: try readBytes(merges), as: UTF8.self)
            return try Tokenizer(vocabJSON: vocabJSON, mergesText: mergesText, config: config)
        }
        var detail = "expected tokenizer.json, or vocab.json with merges.txt"
        if fileManager.fileExists(atPath: modelDirectory.appendingPathComponent("tokenizer_config.json").path) {
            detail += " (tokenizer_config.json alone holds no vocabulary)"
        }
        if fileManager.fileExists(atPath: modelDirectory.appendingPathComponent("tokenizer.model").path) {
            detail += " (tokenizer.model, a SentencePiece protobuf, is not supported: convert it to tokenizer.json)"
        }
        throw TokenizerError.missingFiles(directory: directory, detail: detail)
    }

    /// Reads tokenizer_config.json and special_tokens_map.json; either may be absent.
    public static func loadConfig(modelDirectory: URL) throws -> TokenizerConfig {
        let configURL = modelDirectory.appendingPathComponent("tokenizer_config.json")
        let mapURL = modelDirectory.appendingPathComponent("special_tokens_map.json")
        let fileManager = FileManager.default
        let map = fileManager.fileExists(atPath: mapURL.path)
            ? try JSONValue.parse(try readBytes(mapURL), source: mapURL.path) : nil
        guard fileManager.fileExists(atPath: configURL.path) else {
            return try TokenizerConfig(json: .object([]), specialTokensMap: map)
        }
        return try TokenizerConfig(json: try JSONValue.parse(try readBytes(configURL), source: configURL.path), specialTokensMap: map)
    }

    /// Builds a tokenizer from the contents of a tokenizer.json.
    public convenience init(tokenizerJSON data: [UInt8], config: TokenizerConfig = TokenizerConfig()) throws {
        try self.init(tokenizerJSON: try JSONValue.parse(data, source: "tokenizer.json"), config: config)
    }

    private static func readBytes(_ url: URL) throws(TokenizerError) -> [UInt8] {
        do {
            return Array(try Data(contentsOf: url))
        } catch {
            throw .unreadableFile(path: url.path, reason: "\(error.localizedDescription)")
        }
    }

    convenience init(tokenizerJSON json: JSONValue, config: TokenizerConfig) throws(TokenizerError) {
        func component<T>(_ key: String, _ build: (JSONValue) throws(TokenizerError) -> T) throws(TokenizerError) -> T? {
            guard let value = json[key], !value.isNull else { return nil }
            return try build(value)
        }
        guard let modelJSON = json["model"] else { throw .invalidComponent(kind: "model", message: "tokenizer.json has no \"model\"") }
        let normalizer = try component("normalizer", Normalizer.from)
        var addedTokens: [AddedToken] = []
        for entry in json["added_tokens"]?.arrayValue ?? [] {
            guard let id = entry["id"]?.intValue else {
                throw .invalidComponent(kind: "added token", message: "an entry of \"added_tokens\" has no id")
            }
            addedTokens.append(try AddedToken(json: entry, id: id))
        }
        // transformers also adds tokenizer_config.json's added_tokens_decoder entries the file lacks.
        let known = Set(addedTokens.map { TokenBytes($0.content) })
        addedTokens += config.addedTokens.filter { !known.contains(TokenBytes($0.content)) }
        self.init(
            normalizer: normalizer,
            preTokenizer: try component("pre_tokenizer", PreTokenizer.from),
            model: try TokenizerModel.from(modelJSON),
            postProcessor: try component("post_processor", PostProcessor.from),
            decoder: try component("decoder", TokenDecoder.from),
            addedTokens: addedTokens,
            config: config)
    }

    /// GPT-2's legacy pair, assembled as transformers' GPT2Tokenizer does: byte-level pre-tokenizer with
    /// the GPT-2 regex, byte-level decoder, added tokens from tokenizer_config.json.
    convenience init(vocabJSON: JSONValue, mergesText: String, config: TokenizerConfig) throws(TokenizerError) {
        let model = try BPEModel(vocabJSON: vocabJSON, mergesText: mergesText, unkToken: config.unkToken)
        self.init(
            normalizer: nil,
            preTokenizer: .byteLevel(addPrefixSpace: config.addPrefixSpace ?? false, useRegex: true),
            model: .bpe(model),
            postProcessor: nil,
            decoder: .byteLevel,
            addedTokens: config.addedTokens,
            config: config)
    }
}
