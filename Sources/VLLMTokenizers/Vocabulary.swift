/// A token's text as exact UTF-8 bytes, for hashing: Swift `String` equality is canonical equivalence,
/// which would merge vocabulary entries such as "é" and "e\u{301}".
struct TokenBytes: Hashable, Sendable {
    let bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }
    init(_ string: String) { self.bytes = Array(string.utf8) }

    var string: String { String(decoding: bytes, as: UTF8.self) }

    /// Hashes the bytes in one call (the synthesized version feeds the hasher byte by byte).
    func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    static func == (lhs: TokenBytes, rhs: TokenBytes) -> Bool { lhs.bytes == rhs.bytes }
}

/// A model's vocabulary in both directions.
struct Vocabulary: Sendable {
    private(set) var idsByToken: [TokenBytes: Int] = [:]
    private(set) var tokensById: [String?] = []

    init() {}

    /// Reads `{"token": id, ...}`.
    init(json: JSONValue?, kind: String) throws(TokenizerError) {
        guard let members = json?.members else {
            throw .invalidComponent(kind: kind, message: "\"vocab\" must be an object of token to id")
        }
        idsByToken.reserveCapacity(members.count)
        for (token, value) in members {
            // Ids index an array; real vocabularies stay far below 2^24.
            guard let id = value.intValue, id >= 0, id < 1 << 24 else {
                throw .invalidComponent(kind: kind, message: "vocab entry \(token.debugDescription) has no valid id (0..<16777216)")
            }
            insert(token, id: id)
        }
    }

    mutating func insert(_ token: String, id: Int) {
        idsByToken[TokenBytes(token)] = id
        if id >= tokensById.count { tokensById.append(contentsOf: repeatElement(nil, count: id + 1 - tokensById.count)) }
        tokensById[id] = token
    }

    func id(_ token: String) -> Int? { idsByToken[TokenBytes(token)] }
    func id(bytes: [UInt8]) -> Int? { idsByToken[TokenBytes(bytes)] }

    func token(_ id: Int) -> String? { id >= 0 && id < tokensById.count ? tokensById[id] : nil }

    var count: Int { idsByToken.count }
}
