/// One piece of a template: literal special-token ids, or sequence A (0) or B (1); each with its type id.
struct TemplatePiece: Sendable {
    var ids: [Int]?
    var sequence: Int
    var typeId: Int
}

/// A tokenizer.json post-processor, applied when special tokens are requested: to one sequence, or to a
/// pair (a cross-encoder's query and document) with its token type ids.
indirect enum PostProcessor: Sendable {
    /// The single-sequence and pair templates (the pair one absent where the file has none).
    case template(single: [TemplatePiece], pair: [TemplatePiece]?)
    case byteLevel
    case sequence([PostProcessor])

    static func from(_ json: JSONValue) throws(TokenizerError) -> PostProcessor {
        let type = json["type"]?.stringValue ?? "<missing>"
        switch type {
        case "TemplateProcessing":
            guard let single = json["single"]?.arrayValue else {
                throw .invalidComponent(kind: "post-processor", message: "TemplateProcessing needs \"single\"")
            }
            func pieces(_ items: [JSONValue]) throws(TokenizerError) -> [TemplatePiece] {
                var pieces: [TemplatePiece] = []
                for item in items {
                    if let sequence = item["Sequence"] {
                        pieces.append(TemplatePiece(ids: nil, sequence: sequence["id"]?.stringValue == "B" ? 1 : 0,
                                                    typeId: sequence["type_id"]?.intValue ?? 0))
                    } else if let token = item["SpecialToken"], let name = token["id"]?.stringValue {
                        guard let ids = json["special_tokens"]?[name]?["ids"]?.arrayValue?.compactMap(\.intValue) else {
                            throw .invalidComponent(kind: "post-processor", message: "template token \(name.debugDescription) has no ids")
                        }
                        pieces.append(TemplatePiece(ids: ids, sequence: 0, typeId: token["type_id"]?.intValue ?? 0))
                    } else {
                        throw .invalidComponent(kind: "post-processor", message: "template piece is neither Sequence nor SpecialToken")
                    }
                }
                return pieces
            }
            return .template(single: try pieces(single), pair: try json["pair"]?.arrayValue.map(pieces))
        case "BertProcessing", "RobertaProcessing":
            guard let cls = json["cls"]?.arrayValue?.last?.intValue, let sep = json["sep"]?.arrayValue?.last?.intValue else {
                throw .invalidComponent(kind: "post-processor", message: "\(type) needs \"cls\" and \"sep\" as [token, id]")
            }
            // HF: BERT "[CLS] A [SEP] B [SEP]" with B's part of type 1; RoBERTa "<s> A </s> </s> B </s>", all type 0.
            let isBert = type == "BertProcessing"
            let a = TemplatePiece(ids: nil, sequence: 0, typeId: 0), b = TemplatePiece(ids: nil, sequence: 1, typeId: isBert ? 1 : 0)
            let single = [TemplatePiece(ids: [cls], sequence: 0, typeId: 0), a, TemplatePiece(ids: [sep], sequence: 0, typeId: 0)]
            let pair = isBert
                ? single + [b, TemplatePiece(ids: [sep], sequence: 0, typeId: 1)]
                : single + [TemplatePiece(ids: [sep], sequence: 0, typeId: 0), b, TemplatePiece(ids: [sep], sequence: 0, typeId: 0)]
            return .template(single: single, pair: pair)
        case "ByteLevel":
            // Only offsets change; ids pass through.
            return .byteLevel
        case "Sequence":
            guard let items = json["processors"]?.arrayValue else {
                throw .invalidComponent(kind: "post-processor", message: "Sequence needs \"processors\"")
            }
            var processors: [PostProcessor] = []
            for item in items { processors.append(try from(item)) }
            return .sequence(processors)
        default:
            throw .unsupportedComponent(kind: "post-processor", type: type)
        }
    }

    func process(_ ids: [Int]) -> [Int] {
        switch self {
        case .template(let single, _):
            var result: [Int] = []
            result.reserveCapacity(ids.count + 4)
            for piece in single { result.append(contentsOf: piece.ids ?? ids) }
            return result
        case .byteLevel:
            return ids
        case .sequence(let processors):
            return processors.reduce(ids) { $1.process($0) }
        }
    }

    /// A pair with its token type ids, as HF tokenizers' `encode(a, b)`: the pair template, or (without one)
    /// A and B as they are, B of type 1.
    func processPair(_ a: [Int], _ b: [Int]) -> (ids: [Int], typeIds: [Int]) {
        switch self {
        case .template(_, let pair?):
            var ids: [Int] = [], types: [Int] = []
            for piece in pair {
                let part = piece.ids ?? (piece.sequence == 0 ? a : b)
                ids += part
                types += [Int](repeating: piece.typeId, count: part.count)
            }
            return (ids, types)
        case .template(_, nil), .byteLevel:
            return (a + b, [Int](repeating: 0, count: a.count) + [Int](repeating: 1, count: b.count))
        case .sequence(let processors):
            // The template among them decides; byte-level processing leaves ids alone.
            if let template = processors.first(where: { if case .template = $0 { true } else { false } }) {
                return template.processPair(a, b)
            }
            return (a + b, [Int](repeating: 0, count: a.count) + [Int](repeating: 1, count: b.count))
        }
    }
}
