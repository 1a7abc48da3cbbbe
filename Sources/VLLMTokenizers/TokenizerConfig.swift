/// What tokenizer_config.json (and special_tokens_map.json) say about a tokenizer, as transformers reads
/// them: special tokens, whether BOS/EOS are added, the chat template, the maximum length.
public struct TokenizerConfig: Sendable {
    public var bosToken: String?
    public var eosToken: String?
    public var unkToken: String?
    public var padToken: String?
    /// nil when the file does not say. transformers 5 ignores both when a tokenizer.json exists.
    public var addBosToken: Bool?
    public var addEosToken: Bool?
    public var addPrefixSpace: Bool?
    /// The default chat template (a string, or the entry named "default" of a list of named templates).
    public var chatTemplate: String?
    /// Every named template, when the file holds a list.
    public var namedChatTemplates: [String: String]
    public var modelMaxLength: Int?
    public var cleanUpTokenizationSpaces: Bool
    public var tokenizerClass: String?
    /// added_tokens_decoder, by id.
    public var addedTokens: [AddedToken]

    public init() {
        namedChatTemplates = [:]
        cleanUpTokenizationSpaces = false
        addedTokens = []
    }

    init(json: JSONValue, specialTokensMap: JSONValue?) throws(TokenizerError) {
        self.init()
        func tokenText(_ key: String) -> String? {
            let value = json[key] ?? specialTokensMap?[key]
            return value?.stringValue ?? value?["content"]?.stringValue
        }
        bosToken = tokenText("bos_token")
        eosToken = tokenText("eos_token")
        unkToken = tokenText("unk_token")
        padToken = tokenText("pad_token")
        addBosToken = json["add_bos_token"]?.boolValue
        addEosToken = json["add_eos_token"]?.boolValue
        addPrefixSpace = json["add_prefix_space"]?.boolValue
        if let template = json["chat_template"]?.stringValue {
            chatTemplate = template
        } else if let list = json["chat_template"]?.arrayValue {
            for entry in list {
                if let name = entry["name"]?.stringValue, let template = entry["template"]?.stringValue {
                    namedChatTemplates[name] = template
                }
            }
            chatTemplate = namedChatTemplates["default"]
        }
        modelMaxLength = json["model_max_length"]?.intValue
        cleanUpTokenizationSpaces = json["clean_up_tokenization_spaces"]?.boolValue ?? false
        tokenizerClass = json["tokenizer_class"]?.stringValue
        for (key, value) in json["added_tokens_decoder"]?.members ?? [] {
            guard let id = Int(key), id >= 0 else {
                throw .invalidComponent(kind: "tokenizer_config added_tokens_decoder", message: "key \(key.debugDescription) is not an id")
            }
            addedTokens.append(try AddedToken(json: value, id: id))
        }
    }
}
