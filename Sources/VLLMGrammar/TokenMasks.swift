import Synchronization

/// The vocabulary as a grammar sees it: each token id's bytes (nil for special tokens, which no grammar
/// produces), sorted so tokens sharing a prefix are walked once — a trie without the nodes.
public final class GrammarVocabulary: Sendable {
    /// Bits in a mask: the logits' width, which may exceed the tokenizer's vocabulary.
    public let size: Int
    let sortedIds: [Int32]
    let sortedBytes: [[UInt8]]
    private let byId: [[UInt8]?]

    /// Tokens that end an output (the model's EOS ids): allowed where the grammar may end, never matched
    /// by their bytes.
    public let stopTokenIds: [Int32]

    public init(tokenBytes: [[UInt8]?], stopTokenIds: [Int32] = [], size: Int? = nil) {
        self.size = max(size ?? tokenBytes.count, tokenBytes.count)
        self.stopTokenIds = stopTokenIds
        let stops = Set(stopTokenIds)
        var entries: [(id: Int32, bytes: [UInt8])] = []
        for (id, bytes) in tokenBytes.enumerated() {
            guard let bytes, !bytes.isEmpty, !stops.contains(Int32(id)) else { continue }
            entries.append((Int32(id), bytes))
        }
        entries.sort { $0.bytes.lexicographicallyPrecedes($1.bytes) }
        byId = tokenBytes.map { $0?.isEmpty == false ? $0 : nil }
        sortedIds = entries.map(\.id)
        sortedBytes = entries.map(\.bytes)
    }

    /// Token `id`'s bytes (nil for a special token or an id past the tokenizer's).
    func bytes(of id: Int32) -> [UInt8]? { id >= 0 && Int(id) < byId.count ? byId[Int(id)] : nil }

    /// Words of a mask over this vocabulary (bit `i % 32` of word `i / 32` allows token `i`, xgrammar's layout).
    public var maskWords: Int { (size + 31) / 32 }

    /// The first index after `index` whose token does not start with `prefix` (tokens from `index` on do).
    func endOfPrefix(_ prefix: ArraySlice<UInt8>, from index: Int) -> Int {
        var low = index + 1
        var high = sortedBytes.count
        while low < high {
            let middle = (low + high) / 2
            if sortedBytes[middle].starts(with: prefix) { low = middle + 1 } else { high = middle }
        }
        return low
    }
}

/// A compiled grammar bound to a vocabulary, with the masks it has computed, keyed by matcher state:
/// requests with the same schema share it, so a state's mask is computed once for all of them.
public final class TokenGrammar: Sendable {
    public let grammar: CompiledGrammar
    public let vocabulary: GrammarVocabulary
    private let cache = Mutex<[StateKey: [UInt32]]>([:])
    private static let cacheLimit = 4096

    public init(grammar: CompiledGrammar, vocabulary: GrammarVocabulary) {
        self.grammar = grammar
        self.vocabulary = vocabulary
    }

    struct StateKey: Hashable {
        var stacks: [[Int32]]
        var acceptsEnd: Bool
        var partial: UTF8Partial
    }

    func cachedMask(_ key: StateKey) -> [UInt32]? { cache.withLock { $0[key] } }

    func store(_ mask: [UInt32], for key: StateKey) {
        cache.withLock { cache in
            if cache.count >= Self.cacheLimit { cache.removeAll(keepingCapacity: true) }
            cache[key] = mask
        }
    }

    public var cachedStates: Int { cache.withLock { $0.count } }

    private let ready = Atomic<Bool>(false)
    /// Whether `prepare()` has run: the first states' masks are cached.
    public var isReady: Bool { ready.load(ordering: .acquiring) }

    /// `precomputeMasks()`, then ready.
    public func prepare() {
        precomputeMasks()
        ready.store(true, ordering: .releasing)
    }

    /// Computes ahead the masks of the states an output meets first: the start, then breadth first the states
    /// its tokens lead to (between whole characters: byte tokens reach every prefix of every code point, states
    /// an output rarely meets), found during each state's own mask walk — up to `limit` states, stopping once
    /// `budget` seconds have passed. `GrammarCompiler` runs it beside the engine while the schema's first
    /// requests wait, so the walks of a new schema's first states stay out of the steps, where they would delay
    /// every request in the batch. Returns the states computed.
    @discardableResult
    public func precomputeMasks(limit: Int = 64, budget: Double = 0.5) -> Int {
        let deadline = ContinuousClock.now + .nanoseconds(Int64(budget * 1e9))
        var queue = [TokenMatcher(self)]
        var seen: Set<Int> = [queue[0].stateHash(queue[0].matcher.state)]
        var computed = 0
        var head = 0
        while head < queue.count && computed < limit && ContinuousClock.now < deadline {
            let matcher = queue[head]
            head += 1
            let key = matcher.stateKey()
            guard cachedMask(key) == nil else { continue }
            // A state is told by a hash of its stacks while the walk runs (no allocation per token); two states
            // sharing one would only leave one of them to be computed in a step.
            var successors: [Int32] = []
            let mask = matcher.computeMask { id, state in
                guard state.partial.remaining == 0, !state.tops.isEmpty else { return }
                if seen.insert(matcher.stateHash(state)).inserted { successors.append(id) }
            }
            store(mask, for: key)
            computed += 1
            for id in successors {
                var next = matcher
                if next.accept(tokenId: id) { queue.append(next) }
            }
        }
        return computed
    }
}

/// One request's place in its grammar, token by token.
public struct TokenMatcher: Sendable {
    public let tokenGrammar: TokenGrammar
    public private(set) var matcher: GrammarMatcher
    public init(_ tokenGrammar: TokenGrammar) {
        self.tokenGrammar = tokenGrammar
        self.matcher = GrammarMatcher(tokenGrammar.grammar)
    }

    var stopTokenIds: [Int32] { tokenGrammar.vocabulary.stopTokenIds }

    /// Whether the grammar is complete and nothing more can follow: the request should stop.
    public var isTerminated: Bool { matcher.mustTerminate }

    /// Advances over token `id`; false (and unchanged) where the grammar does not allow it. A stop token
    /// is allowed where the grammar may end.
    public mutating func accept(tokenId id: Int32) -> Bool {
        if stopTokenIds.contains(id) { return matcher.canTerminate }
        guard let bytes = tokenGrammar.vocabulary.bytes(of: id) else { return false }
        return matcher.accept(bytes)
    }

    /// The tokens allowed next, as a bitmask of `vocabulary.maskWords` words.
    public func nextTokenMask() -> [UInt32] {
        let key = stateKey()
        var mask: [UInt32]
        if let cached = tokenGrammar.cachedMask(key) {
            mask = cached
        } else {
            mask = computeMask()
            tokenGrammar.store(mask, for: key)
        }
        if matcher.canTerminate {
            for id in stopTokenIds where id >= 0 && Int(id) < tokenGrammar.vocabulary.size {
                mask[Int(id) >> 5] |= 1 << UInt32(id & 31)
            }
        }
        return mask
    }

    /// A hash of `state`'s stacks (in any order), where it ends and its partial character, read off the arena.
    func stateHash(_ state: MatchState) -> Int {
        let arena = matcher.arena
        var stacks = 0
        for top in state.tops {
            var hasher = Hasher()
            var node = top
            while node >= 0 {
                hasher.combine(arena.position(node))
                node = arena.parent(node)
            }
            stacks &+= hasher.finalize()
        }
        var hasher = Hasher()
        hasher.combine(stacks)
        hasher.combine(state.acceptsEnd)
        hasher.combine(state.partial)
        return hasher.finalize()
    }

    func stateKey() -> TokenGrammar.StateKey {
        let stacks = matcher.state.tops.map { matcher.arena.stack($0) }.sorted { $0.lexicographicallyPrecedes($1) }
        return .init(stacks: stacks, acceptsEnd: matcher.state.acceptsEnd, partial: matcher.state.partial)
    }

    /// The grammar's part of the mask (stop tokens are added by the caller): walks the sorted vocabulary from the current state, sharing the work of common prefixes and
    /// skipping every token under a prefix the grammar refuses.
    func computeMask(onAccepted: ((Int32, MatchState) -> Void)? = nil) -> [UInt32] {
        let vocabulary = tokenGrammar.vocabulary
        var mask = [UInt32](repeating: 0, count: vocabulary.maskWords)
        let arena = matcher.arena
        let mark = arena.count
        defer { arena.truncate(to: mark) }
        // states[d]: the state after the first d bytes of `reference`.
        var states: [MatchState] = [matcher.state]
        var reference: [UInt8] = []
        var index = 0
        let count = vocabulary.sortedBytes.count
        tokens: while index < count {
            let bytes = vocabulary.sortedBytes[index]
            var depth = 0
            let limit = min(states.count - 1, bytes.count, reference.count)
            while depth < limit && bytes[depth] == reference[depth] { depth += 1 }
            states.removeLast(states.count - 1 - depth)
            reference = bytes
            while depth < bytes.count {
                guard let next = matcher.advance(states[depth], byte: bytes[depth]) else {
                    index = vocabulary.endOfPrefix(bytes[...depth], from: index)
                    continue tokens
                }
                states.append(next)
                depth += 1
            }
            let id = Int(vocabulary.sortedIds[index])
            mask[id >> 5] |= 1 << UInt32(id & 31)
            onAccepted?(Int32(id), states[bytes.count])
            index += 1
        }
        return mask
    }
}

