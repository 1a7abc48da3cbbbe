import Synchronization

/// The BPE model of HF tokenizers: byte-level (GPT-2, Llama-3, Qwen) and SentencePiece-style with
/// byte_fallback / fuse_unk (Llama-2, Mistral, Phi-3), with optional continuing_subword_prefix and
/// end_of_word_suffix. Dropout is a training-time option and is ignored.
final class BPEModel: Sendable {
    let vocabulary: Vocabulary
    /// (left id << 32 | right id) → (rank << 32 | merged id).
    private let merges: [UInt64: UInt64]
    private let unkToken: String?
    private let continuingSubwordPrefix: String?
    private let endOfWordSuffix: String?
    private let fuseUnk: Bool
    private let byteFallback: Bool
    private let ignoreMerges: Bool
    /// The id of each single-scalar token for scalars below 0x10000, when no prefix/suffix is configured.
    private let scalarIds: [Int32?]
    /// The ids of the `<0xAB>` byte tokens (empty unless byte_fallback is on).
    private let byteFallbackIds: [Int32?]
    /// Word → ids, as HF's BPE cache: it stops growing at its capacity, and a thread that finds it locked by another
    /// neither waits to read nor to write it (HF's `try_read` / `try_write`) — with a server's threads all tokenizing
    /// at once, waiting for one lock per word would line them up.
    private let cache = Mutex<[[UInt32]: [Int32]]>([:])
    private static let cacheCapacity = 10_000
    private static let maxCachedWordLength = 256

    init(json: JSONValue) throws(TokenizerError) {
        let kind = "model"
        vocabulary = try Vocabulary(json: json["vocab"], kind: kind)
        unkToken = json["unk_token"]?.stringValue
        let prefix = json["continuing_subword_prefix"]?.stringValue
        let suffix = json["end_of_word_suffix"]?.stringValue
        continuingSubwordPrefix = (prefix?.isEmpty ?? true) ? nil : prefix
        endOfWordSuffix = (suffix?.isEmpty ?? true) ? nil : suffix
        fuseUnk = json["fuse_unk"]?.boolValue ?? false
        byteFallback = json["byte_fallback"]?.boolValue ?? false
        ignoreMerges = json["ignore_merges"]?.boolValue ?? false

        var pairs: [(String, String)] = []
        for (rank, entry) in (json["merges"]?.arrayValue ?? []).enumerated() {
            if let line = entry.stringValue {
                let parts = line.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else {
                    throw .invalidComponent(kind: kind, message: "merge \(rank + 1) (\(line.debugDescription)) is not two tokens")
                }
                pairs.append((String(parts[0]), String(parts[1])))
            } else if let pair = entry.arrayValue, pair.count == 2, let a = pair[0].stringValue, let b = pair[1].stringValue {
                pairs.append((a, b))
            } else {
                throw .invalidComponent(kind: kind, message: "merge \(rank + 1) is neither \"a b\" nor [a, b]")
            }
        }
        merges = try Self.mergeTable(pairs, vocabulary: vocabulary, prefix: continuingSubwordPrefix)

        var scalarIds = [Int32?](repeating: nil, count: 0)
        if continuingSubwordPrefix == nil && endOfWordSuffix == nil {
            scalarIds = [Int32?](repeating: nil, count: 0x10000)
            for value in 0..<UInt32(0x10000) {
                guard let scalar = Unicode.Scalar(value) else { continue }
                var bytes: [UInt8] = []
                UTF8Scalars.append(scalar.value, to: &bytes)
                if let id = vocabulary.id(bytes: bytes) { scalarIds[Int(value)] = Int32(id) }
            }
        }
        self.scalarIds = scalarIds
        let vocabulary = self.vocabulary
        byteFallbackIds = byteFallback ? (0..<256).map { byte in vocabulary.id(BPEModel.byteToken(UInt8(byte))).map { Int32($0) } } : []
    }

    /// The legacy vocab.json + merges.txt pair.
    convenience init(vocabJSON: JSONValue, mergesText: String, unkToken: String?) throws(TokenizerError) {
        var merges: [JSONValue] = []
        for (number, line) in mergesText.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.hasSuffix("\r") ? line.dropLast() : line
            if number == 0 && trimmed.hasPrefix("#version") { continue }
            if trimmed.isEmpty { continue }
            merges.append(.string(String(trimmed)))
        }
        var model: [(key: String, value: JSONValue)] = [("vocab", vocabJSON), ("merges", .array(merges))]
        if let unkToken { model.append(("unk_token", .string(unkToken))) }
        try self.init(json: .object(model))
    }

    static func byteToken(_ byte: UInt8) -> String {
        let hex = String(byte, radix: 16, uppercase: true)
        return "<0x\(hex.count == 1 ? "0" + hex : hex)>"
    }

    private static func mergeTable(_ pairs: [(String, String)], vocabulary: Vocabulary, prefix: String?)
        throws(TokenizerError) -> [UInt64: UInt64]
    {
        var table: [UInt64: UInt64] = [:]
        table.reserveCapacity(pairs.count)
        let prefixLength = prefix?.utf8.count ?? 0
        for (rank, (a, b)) in pairs.enumerated() {
            guard let left = vocabulary.id(a) else {
                throw .invalidComponent(kind: "model", message: "merge \(rank + 1) uses \(a.debugDescription), not in the vocab")
            }
            guard let right = vocabulary.id(b) else {
                throw .invalidComponent(kind: "model", message: "merge \(rank + 1) uses \(b.debugDescription), not in the vocab")
            }
            let merged = Array(a.utf8) + Array(b.utf8).dropFirst(min(prefixLength, b.utf8.count))
            guard let newId = vocabulary.id(bytes: merged) else {
                throw .invalidComponent(
                    kind: "model", message: "merge \(rank + 1) makes \(String(decoding: merged, as: UTF8.self).debugDescription), not in the vocab")
            }
            table[UInt64(left) << 32 | UInt64(right)] = UInt64(rank) << 32 | UInt64(newId)
        }
        return table
    }

    /// Appends the ids of one pre-tokenized word.
    func tokenize(_ word: [UInt32], into ids: inout [Int]) {
        if word.isEmpty { return }
        if ignoreMerges, let id = vocabulary.id(bytes: UTF8Scalars.bytes(word)) {
            ids.append(id)
            return
        }
        let cacheable = word.count <= Self.maxCachedWordLength
        if cacheable, let found = cache.withLockIfAvailable({ $0[word] }), let hit = found {
            for id in hit { ids.append(Int(id)) }
            return
        }
        let result = mergeWord(word)
        for id in result { ids.append(Int(id)) }
        if cacheable {
            _ = cache.withLockIfAvailable { cache in
                if cache.count < Self.cacheCapacity { cache[word] = result }
            }
        }
    }

    /// The initial symbols of a word: one per scalar, with byte fallback and unknown-token fusing.
    private func initialSymbols(_ word: [UInt32]) -> [Int32] {
        var symbols: [Int32] = []
        symbols.reserveCapacity(word.count)
        var pendingUnk: Int32?
        let unkId = unkToken.flatMap { vocabulary.id($0) }.map { Int32($0) }
        for (index, value) in word.enumerated() {
            var id: Int32?
            var text: [UInt8] = []
            if !scalarIds.isEmpty, value < 0x10000 {
                id = scalarIds[Int(value)]
            } else {
                if index > 0, let prefix = continuingSubwordPrefix { text.append(contentsOf: prefix.utf8) }
                UTF8Scalars.append(value, to: &text)
                if index == word.count - 1, let suffix = endOfWordSuffix { text.append(contentsOf: suffix.utf8) }
                id = vocabulary.id(bytes: text).map { Int32($0) }
            }
            if let id {
                if let unk = pendingUnk {
                    symbols.append(unk)
                    pendingUnk = nil
                }
                symbols.append(id)
                continue
            }
            if byteFallback {
                if text.isEmpty { UTF8Scalars.append(value, to: &text) }
                // As HF: byte tokens go in directly; a pending unknown token waits for the next known one.
                let byteIds = text.compactMap { byteFallbackIds[Int($0)] }
                if byteIds.count == text.count {
                    symbols.append(contentsOf: byteIds)
                    continue
                }
            }
            guard let unkId else { continue }
            if let unk = pendingUnk, !fuseUnk { symbols.append(unk) }
            pendingUnk = unkId
        }
        if let unk = pendingUnk { symbols.append(unk) }
        return symbols
    }

    private struct Symbol {
        var id: Int32
        var previous: Int32
        var next: Int32
        var isAlive: Bool
    }

    /// HF's `Word::merge_all`: repeatedly apply the lowest-ranked merge, leftmost first, through a
    /// priority queue of candidate pairs whose stale entries are skipped.
    private func mergeWord(_ word: [UInt32]) -> [Int32] {
        let initial = initialSymbols(word)
        if initial.count < 2 { return initial }
        var symbols = initial.enumerated().map { index, id in
            Symbol(id: id, previous: Int32(index - 1), next: index + 1 < initial.count ? Int32(index + 1) : -1, isAlive: true)
        }
        var queue = MergeQueue()
        for index in 0..<(symbols.count - 1) {
            if let merge = merges[UInt64(UInt32(symbols[index].id)) << 32 | UInt64(UInt32(symbols[index + 1].id))] {
                queue.push(rank: UInt32(merge >> 32), position: Int32(index), newId: Int32(truncatingIfNeeded: merge))
            }
        }
        while let top = queue.pop() {
            let position = Int(top.position)
            guard symbols[position].isAlive, symbols[position].next >= 0 else { continue }
            let nextPosition = Int(symbols[position].next)
            let right = symbols[nextPosition]
            let key = UInt64(UInt32(symbols[position].id)) << 32 | UInt64(UInt32(right.id))
            guard let current = merges[key], Int32(truncatingIfNeeded: current) == top.newId else { continue }
            symbols[position].id = top.newId
            symbols[position].next = right.next
            symbols[nextPosition].isAlive = false
            if right.next >= 0 { symbols[Int(right.next)].previous = Int32(position) }
            let previous = symbols[position].previous
            if previous >= 0 {
                let pair = UInt64(UInt32(symbols[Int(previous)].id)) << 32 | UInt64(UInt32(top.newId))
                if let merge = merges[pair] {
                    queue.push(rank: UInt32(merge >> 32), position: previous, newId: Int32(truncatingIfNeeded: merge))
                }
            }
            let next = symbols[position].next
            if next >= 0 {
                let pair = UInt64(UInt32(top.newId)) << 32 | UInt64(UInt32(symbols[Int(next)].id))
                if let merge = merges[pair] {
                    queue.push(rank: UInt32(merge >> 32), position: Int32(position), newId: Int32(truncatingIfNeeded: merge))
                }
            }
        }
        var result: [Int32] = []
        result.reserveCapacity(symbols.count)
        for symbol in symbols where symbol.isAlive { result.append(symbol.id) }
        return result
    }
}

/// A binary min-heap of merge candidates ordered by (rank, position).
private struct MergeQueue {
    struct Entry {
        var rank: UInt32
        var position: Int32
        var newId: Int32

        @inline(__always) func precedes(_ other: Entry) -> Bool {
            rank != other.rank ? rank < other.rank : position < other.position
        }
    }

    private var heap: [Entry] = []

    mutating func push(rank: UInt32, position: Int32, newId: Int32) {
        heap.append(Entry(rank: rank, position: position, newId: newId))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Entry? {
        guard let first = heap.first else { return nil }
        let last = heap.removeLast()
        if heap.isEmpty { return first }
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { break }
            var best = left
            if left + 1 < heap.count, heap[left + 1].precedes(heap[left]) { best = left + 1 }
            guard heap[best].precedes(heap[parent]) else { break }
            heap.swapAt(best, parent)
            parent = best
        }
        return first
    }
}
