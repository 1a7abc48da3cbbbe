/// The Unigram model (SentencePiece unigram, as in T5 or XLM-R): the highest-scoring segmentation by
/// Viterbi over a byte trie of the pieces, unknown stretches fused into one unknown token, optional
/// byte fallback.
struct UnigramModel: Sendable {
    let vocabulary: Vocabulary
    private let scores: [Double]
    private let unkId: Int?
    private let byteFallback: Bool
    private let minScore: Double
    /// Trie over the pieces' UTF-8 bytes: children per node, and the piece id ending at a node.
    private let children: [[UInt8: Int32]]
    private let terminal: [Int32?]
    private static let unknownPenalty = 10.0

    init(json: JSONValue) throws(TokenizerError) {
        guard let entries = json["vocab"]?.arrayValue else {
            throw .invalidComponent(kind: "model", message: "Unigram needs \"vocab\": [[piece, score], ...]")
        }
        var vocabulary = Vocabulary()
        var scores: [Double] = []
        var children: [[UInt8: Int32]] = [[:]]
        var terminal: [Int32?] = [nil]
        var minScore = Double.infinity
        for (id, entry) in entries.enumerated() {
            guard let pair = entry.arrayValue, pair.count == 2, let piece = pair[0].stringValue, let score = pair[1].doubleValue
            else {
                throw .invalidComponent(kind: "model", message: "Unigram vocab entry \(id) is not [piece, score]")
            }
            // A repeated piece resolves to its last id, as HF's map built in order.
            vocabulary.insert(piece, id: id)
            scores.append(score)
            minScore = min(minScore, score)
            var node = 0
            for byte in piece.utf8 {
                if let child = children[node][byte] {
                    node = Int(child)
                } else {
                    children.append([:])
                    terminal.append(nil)
                    children[node][byte] = Int32(children.count - 1)
                    node = children.count - 1
                }
            }
            terminal[node] = Int32(id)
        }
        self.vocabulary = vocabulary
        self.scores = scores
        self.children = children
        self.terminal = terminal
        self.minScore = minScore
        unkId = json["unk_id"]?.intValue
        byteFallback = json["byte_fallback"]?.boolValue ?? false
        if let unkId, unkId < 0 || unkId >= entries.count {
            throw .invalidComponent(kind: "model", message: "Unigram unk_id \(unkId) is outside the vocab")
        }
    }

    private struct Node {
        var id = 0
        var score = 0.0
        var start: Int?
    }

    func tokenize(_ word: [UInt32], into ids: inout [Int]) {
        let bytes = UTF8Scalars.bytes(word)
        let size = bytes.count
        if size == 0 { return }
        var best = [Node](repeating: Node(), count: size + 1)
        let unknownScore = minScore - Self.unknownPenalty
        var start = 0
        while start < size {
            let scoreHere = best[start].score
            let lead = bytes[start]
            let charLength = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
            var hasSingle = false
            var node = 0
            var position = start
            while position < size, let child = children[node][bytes[position]] {
                node = Int(child)
                position += 1
                guard let id = terminal[node] else { continue }
                let candidate = scores[Int(id)] + scoreHere
                if best[position].start == nil || candidate > best[position].score {
                    best[position] = Node(id: Int(id), score: candidate, start: start)
                }
                if position - start == charLength { hasSingle = true }
            }
            if !hasSingle, let unkId {
                let end = min(start + charLength, size)
                let candidate = unknownScore + scoreHere
                if best[end].start == nil || candidate > best[end].score {
                    best[end] = Node(id: unkId, score: candidate, start: start)
                }
            }
            start += charLength
        }
        // Walk back; consecutive unknown pieces fuse into one.
        var pieces: [(range: Range<Int>, isUnknown: Bool)] = []
        var end = size
        while end > 0 {
            guard let begin = best[end].start else { return }
            let isUnknown = unkId != nil && best[end].id == unkId
            if isUnknown, let last = pieces.last, last.isUnknown {
                pieces[pieces.count - 1].range = begin..<last.range.upperBound
            } else {
                pieces.append((begin..<end, isUnknown))
            }
            end = begin
        }
        for piece in pieces.reversed() {
            let text = Array(bytes[piece.range])
            if let id = vocabulary.id(bytes: text) {
                ids.append(id)
                continue
            }
            if byteFallback {
                let byteIds = text.compactMap { vocabulary.id(BPEModel.byteToken($0)) }
                if byteIds.count == text.count {
                    ids.append(contentsOf: byteIds)
                    continue
                }
            }
            if let unkId { ids.append(unkId) }
        }
    }
}
