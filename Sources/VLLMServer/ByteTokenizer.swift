import VLLMEngine

/// The demo model's tokenizer: one token per UTF-8 byte (id = byte + 3; 1 is BOS, 2 is EOS), so
/// every prompt tokenizes and every output decodes — into noise, the weights being random.
public struct ByteTokenizer: TextTokenizer, DetokenizerFactory {
    public static let bos = 1
    public static let eos = 2
    public let vocabSize: Int

    public init(vocabSize: Int) {
        self.vocabSize = vocabSize
    }

    public func encode(_ text: String, addSpecialTokens: Bool) throws -> [Int] {
        (addSpecialTokens ? [Self.bos] : []) + text.utf8.map { Int($0) + 3 }
    }

    public func decode(_ tokenIds: [Int], skipSpecialTokens: Bool) throws -> String {
        String(decoding: Self.bytes(tokenIds, skipSpecialTokens: skipSpecialTokens), as: UTF8.self)
    }

    static func bytes(_ tokenIds: [Int], skipSpecialTokens: Bool) -> [UInt8] {
        var bytes: [UInt8] = []
        for id in tokenIds {
            if (3..<259).contains(id) {
                bytes.append(UInt8(id - 3))
            } else if !skipSpecialTokens {
                bytes.append(contentsOf: Array((id == bos ? "<s>" : id == eos ? "</s>" : "<\(id)>").utf8))
            }
        }
        return bytes
    }

    public func makeDetokenizer(promptTokenIds: [Int], skipSpecialTokens: Bool, spacesBetweenSpecialTokens: Bool)
        -> any StreamingDetokenizer
    {
        ByteDetokenizer(skipSpecialTokens: skipSpecialTokens)
    }
}

/// Emits the bytes of a `ByteTokenizer` stream as text, holding back an incomplete character.
public struct ByteDetokenizer: StreamingDetokenizer {
    let skipSpecialTokens: Bool
    private var pending: [UInt8] = []

    public init(skipSpecialTokens: Bool) {
        self.skipSpecialTokens = skipSpecialTokens
    }

    public mutating func append(_ tokenId: Int) -> String {
        pending += ByteTokenizer.bytes([tokenId], skipSpecialTokens: skipSpecialTokens)
        guard !pending.isEmpty else { return "" }
        // Keep back the tail of an incomplete UTF-8 sequence (at most 3 bytes).
        var cut = pending.count
        for back in 1...min(3, pending.count) {
            let byte = pending[pending.count - back]
            if byte & 0xC0 == 0x80 { continue }
            let needed = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1
            if needed > back { cut = pending.count - back }
            break
        }
        let text = String(decoding: pending[..<cut], as: UTF8.self)
        pending.removeFirst(cut)
        return text
    }

    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }
}
