import Foundation

/// Finding a model's chat template and special tokens the way transformers does.
extension ChatTemplate {
    /// Loads the template of a HF model folder: `override` (a file path) if given, else
    /// `chat_template.jinja`, else `chat_template.json`'s or `tokenizer_config.json`'s `chat_template` (a string, or a
    /// list of `{name, template}` of which "default" is taken). Special tokens (`bos_token`, `eos_token`,
    /// `unk_token`, `pad_token`: strings or `{"content": …}`) come from `tokenizer_config.json`.
    public static func load(modelDirectory: URL, override: URL? = nil) throws -> ChatTemplate {
        let configURL = modelDirectory.appendingPathComponent("tokenizer_config.json")
        let config = try tokenizerConfig(modelDirectory: modelDirectory)
        let source: String
        if let override {
            source = try readText(override)
        } else if case let jinja = modelDirectory.appendingPathComponent("chat_template.jinja"),
            FileManager.default.fileExists(atPath: jinja.path)
        {
            source = try readText(jinja)
        } else if case let json = modelDirectory.appendingPathComponent("chat_template.json"),
            FileManager.default.fileExists(atPath: json.path),
            let template = try readJSON(json)["chat_template"]
        {
            source = try pickTemplate(template, from: json)
        } else if let template = config?["chat_template"] {
            source = try pickTemplate(template, from: configURL)
        } else {
            throw TemplateError.load(
                "no chat template in \(modelDirectory.path): no chat_template.jinja, and tokenizer_config.json has no "
                    + "\"chat_template\"; pass --chat-template FILE")
        }
        return try ChatTemplate(source: source, specialTokens: config.map(specialTokens) ?? [:])
    }

    /// The model folder's parsed tokenizer_config.json, or nil where it has none.
    public static func tokenizerConfig(modelDirectory: URL) throws -> TemplateValue? {
        let url = modelDirectory.appendingPathComponent("tokenizer_config.json")
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        return try readJSON(url)
    }

    /// The special tokens transformers passes to the template, from a parsed tokenizer_config.json.
    public static func specialTokens(_ config: TemplateValue) -> [String: TemplateValue] {
        var tokens: [String: TemplateValue] = [:]
        for name in ["bos_token", "eos_token", "unk_token", "pad_token"] {
            switch config[name] {
            case .string(let s)?: tokens[name] = .string(s)
            case .dict?:
                if case .string(let s)? = config[name]?["content"] { tokens[name] = .string(s) }
            default: break
            }
        }
        return tokens
    }

    /// `chat_template` is a string, or a list of named templates of which transformers uses "default".
    static func pickTemplate(_ value: TemplateValue, from url: URL) throws -> String {
        switch value {
        case .string(let s): return s
        case .array(let entries):
            for entry in entries {
                if entry["name"] == .string("default"), case .string(let s)? = entry["template"] { return s }
            }
            throw TemplateError.load("\(url.path): \"chat_template\" is a list without a template named \"default\"")
        default:
            throw TemplateError.load("\(url.path): \"chat_template\" must be a string or a list of {name, template}")
        }
    }

    static func readText(_ url: URL) throws -> String {
        do {
            let data = try Data(contentsOf: url)
            guard let text = String(data: data, encoding: .utf8) else {
                throw TemplateError.load("\(url.path) is not UTF-8 text")
            }
            return text
        } catch let error as TemplateError {
            throw error
        } catch {
            throw TemplateError.load("cannot read \(url.path): \(error.localizedDescription)")
        }
    }

    static func readJSON(_ url: URL) throws -> TemplateValue {
        let text = try readText(url)
        do {
            return try TemplateValue(json: text)
        } catch let error as TemplateError {
            throw TemplateError.load("\(url.path): \(error.message)")
        }
    }
}
