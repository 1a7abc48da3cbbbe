/// A tokenizer.json post-processor, applied to a single sequence when special tokens are requested.
indirect enum PostProcessor: Sendable {
    /// The single-sequence template: literal ids and the sequence itself (nil).
    case template([[Int]?])
    case byteLevel
    case sequence([PostProcessor])

    static func from(_ json: JSONValue) throws(TokenizerError) -> PostProcessor {
        let type = json["type"]?.stringValue ?? "<missing>"
        switch type {
        case "TemplateProcessing":
            guard let single = json["single"]?.arrayValue else {
                throw .invalidComponent(kind: "post-processor", message: "TemplateProcessing needs \"single\"")
            }
            var pieces: [[Int]?] = []
            for item in single {
                if item["Sequence"] != nil {
                    pieces.append(nil)
                } else if let name = item["SpecialToken"]?["id"]?.stringValue {
                    guard let ids = json["special_tokens"]?[name]?["ids"]?.arrayValue?.compactMap(\.intValue) else {
                        throw .invalidComponent(kind: "post-processor", message: "template token \(name.debugDescription) has no ids")
                    }
                    pieces.append(ids)
                } else {
                    throw .invalidComponent(kind: "post-processor", message: "template piece is neither Sequence nor SpecialToken")
                }
            }
            return .template(pieces)
        case "BertProcessing", "RobertaProcessing":
            guard let cls = json["cls"]?.arrayValue?.last?.intValue, let sep = json["sep"]?.arrayValue?.last?.intValue else {
                throw .invalidComponent(kind: "post-processor", message: "\(type) needs \"cls\" and \"sep\" as [token, id]")
            }
            return .template([[cls], nil, [sep]])
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
        case .template(let pieces):
            var result: [Int] = []
            result.reserveCapacity(ids.count + 4)
            for piece in pieces { result.append(contentsOf: piece ?? ids) }
            return result
        case .byteLevel:
            return ids
        case .sequence(let processors):
            return processors.reduce(ids) { $1.process($0) }
        }
    }
}
