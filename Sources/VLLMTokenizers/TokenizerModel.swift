/// The model at the heart of a tokenizer.json: turns one pre-tokenized word into ids.
enum TokenizerModel: Sendable {
    case bpe(BPEModel)
    case wordPiece(WordPieceModel)
    case unigram(UnigramModel)
    case wordLevel(Vocabulary, unkToken: String?)

    static func from(_ json: JSONValue) throws(TokenizerError) -> TokenizerModel {
        var type = json["type"]?.stringValue
        if type == nil {
            // Older files leave the type out; HF then recognizes the model by its fields.
            if json["merges"] != nil {
                type = "BPE"
            } else if json["vocab"]?.arrayValue != nil {
                type = "Unigram"
            } else if json["max_input_chars_per_word"] != nil {
                type = "WordPiece"
            }
        }
        switch type {
        case "BPE": return .bpe(try BPEModel(json: json))
        case "WordPiece": return .wordPiece(try WordPieceModel(json: json))
        case "Unigram": return .unigram(try UnigramModel(json: json))
        case "WordLevel":
            return .wordLevel(try Vocabulary(json: json["vocab"], kind: "model"), unkToken: json["unk_token"]?.stringValue)
        default:
            throw .unsupportedComponent(kind: "model", type: type ?? "<missing>")
        }
    }

    var vocabulary: Vocabulary {
        switch self {
        case .bpe(let model): return model.vocabulary
        case .wordPiece(let model): return model.vocabulary
        case .unigram(let model): return model.vocabulary
        case .wordLevel(let vocabulary, _): return vocabulary
        }
    }

    var isBPE: Bool {
        if case .bpe = self { return true }
        return false
    }

    func tokenize(_ word: [UInt32], into ids: inout [Int]) {
        switch self {
        case .bpe(let model): model.tokenize(word, into: &ids)
        case .wordPiece(let model): model.tokenize(word, into: &ids)
        case .unigram(let model): model.tokenize(word, into: &ids)
        case .wordLevel(let vocabulary, let unkToken):
            if let id = vocabulary.id(bytes: UTF8Scalars.bytes(word)) ?? unkToken.flatMap({ vocabulary.id($0) }) {
                ids.append(id)
            }
        }
    }
}
