/// Why a tokenizer could not be loaded. Every case names the file or component at fault, so a model folder
/// that would tokenize differently from HF `tokenizers` fails loudly instead of silently.
public enum TokenizerError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The folder has neither tokenizer.json nor the vocab.json + merges.txt pair.
    case missingFiles(directory: String, detail: String)
    /// A file could not be read.
    case unreadableFile(path: String, reason: String)
    /// A file is not valid JSON.
    case invalidJSON(file: String, message: String)
    /// A component type (normalizer, pre-tokenizer, model, ...) that this implementation does not know.
    case unsupportedComponent(kind: String, type: String)
    /// A known component whose fields are missing or malformed.
    case invalidComponent(kind: String, message: String)
    /// A regular expression in the tokenizer that this implementation cannot compile.
    case invalidPattern(pattern: String, message: String)

    public var description: String {
        switch self {
        case .missingFiles(let directory, let detail):
            return "no tokenizer in \(directory): \(detail)"
        case .unreadableFile(let path, let reason):
            return "cannot read \(path): \(reason)"
        case .invalidJSON(let file, let message):
            return "invalid JSON in \(file): \(message)"
        case .unsupportedComponent(let kind, let type):
            return "unsupported \(kind) type \"\(type)\" in tokenizer.json: refusing to tokenize differently from HF tokenizers"
        case .invalidComponent(let kind, let message):
            return "invalid \(kind) in tokenizer.json: \(message)"
        case .invalidPattern(let pattern, let message):
            return "unsupported regular expression \(pattern.debugDescription): \(message)"
        }
    }
}
