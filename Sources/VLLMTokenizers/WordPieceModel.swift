/// The WordPiece model (BERT): greedy longest-match-first within each word, continuation pieces carrying
/// the `##` prefix, and the unknown token for a word that cannot be covered or is too long.
struct WordPieceModel: Sendable {
    let vocabulary: Vocabulary
    let unkToken: String
    let continuingSubwordPrefix: [UInt8]
    let maxInputCharsPerWord: Int

    init(json: JSONValue) throws(TokenizerError) {
        vocabulary = try Vocabulary(json: json["vocab"], kind: "model")
        unkToken = json["unk_token"]?.stringValue ?? "[UNK]"
        continuingSubwordPrefix = Array((json["continuing_subword_prefix"]?.stringValue ?? "##").utf8)
        maxInputCharsPerWord = json["max_input_chars_per_word"]?.intValue ?? 100
        guard vocabulary.id(unkToken) != nil else {
            throw .invalidComponent(kind: "model", message: "WordPiece unk_token \(unkToken.debugDescription) is not in the vocab")
        }
    }

    func tokenize(_ word: [UInt32], into ids: inout [Int]) {
        if word.isEmpty { return }
        let unkId = vocabulary.id(unkToken) ?? 0
        if word.count > maxInputCharsPerWord {
            ids.append(unkId)
            return
        }
        // Byte offsets of each scalar boundary, so candidate substrings are byte slices.
        let bytes = UTF8Scalars.bytes(word)
        var boundaries: [Int] = [0]
        var offset = 0
        for value in word {
            offset += value < 0x80 ? 1 : value < 0x800 ? 2 : value < 0x10000 ? 3 : 4
            boundaries.append(offset)
        }
        var pieces: [Int] = []
        var startIndex = 0
        while startIndex < word.count {
            var endIndex = word.count
            var found: Int?
            while startIndex < endIndex {
                var candidate = startIndex > 0 ? continuingSubwordPrefix : []
                candidate.append(contentsOf: bytes[boundaries[startIndex]..<boundaries[endIndex]])
                if let id = vocabulary.id(bytes: candidate) {
                    found = id
                    break
                }
                endIndex -= 1
            }
            guard let id = found else {
                ids.append(unkId)
                return
            }
            pieces.append(id)
            startIndex = endIndex
        }
        ids.append(contentsOf: pieces)
    }
}
