/// Where a constrained output is in its grammar: the set of parse stacks still alive after the bytes
/// so far (a pushdown automaton run breadth-first, as llama.cpp's GBNF matcher does), plus the bytes of
/// a code point not yet complete — tokens split UTF-8 characters.
///
/// A stack is a chain of nodes in an arena (`StackArena`): the top node holds the position of the next
/// element to match (always a character class), each node below it the position to resume at when
/// the rule above it ends. Stacks share their lower nodes, so advancing copies nothing but tops.
public struct GrammarMatcher: Sendable {
    public let grammar: CompiledGrammar
    var arena: StackArena
    var state: MatchState

    public init(_ grammar: CompiledGrammar) {
        self.grammar = grammar
        arena = StackArena()
        state = MatchState()
        var expander = Expander(grammar: grammar, arena: arena)
        for start in grammar.alternatives[Int(grammar.rootRule)] {
            expander.expand(position: start, parent: -1)
        }
        state = expander.finish(partial: .none)
    }

    /// Whether the output may end here (a stop token is allowed).
    public var canTerminate: Bool { state.acceptsEnd && state.partial.remaining == 0 }
    /// Whether nothing but the end is allowed: no stack has a character left to match.
    public var mustTerminate: Bool { state.tops.isEmpty }

    /// Advances over `bytes`; false (and unchanged) where they leave the grammar.
    @discardableResult
    public mutating func accept(_ bytes: some Sequence<UInt8>) -> Bool {
        var next = state
        for byte in bytes {
            guard let advanced = advance(next, byte: byte) else { return false }
            next = advanced
        }
        state = next
        return true
    }

    public mutating func accept(_ text: String) -> Bool { accept(text.utf8) }

    /// Whether the whole of `text` is a complete match from here (a test helper).
    public func matchesCompletely(_ text: String) -> Bool {
        var copy = self
        return copy.accept(text) && copy.canTerminate
    }

    func advance(_ from: MatchState, byte: UInt8) -> MatchState? {
        var partial = from.partial
        if partial.remaining == 0 {
            if byte < 0x80 { return advance(from, codePoint: UInt32(byte)) }
            switch byte {
            case 0xC2...0xDF: partial = UTF8Partial(value: UInt32(byte & 0x1F), remaining: 1, minimum: 0x80)
            case 0xE0...0xEF: partial = UTF8Partial(value: UInt32(byte & 0x0F), remaining: 2, minimum: 0x800)
            case 0xF0...0xF4: partial = UTF8Partial(value: UInt32(byte & 0x07), remaining: 3, minimum: 0x10000)
            default: return nil
            }
        } else {
            guard byte & 0xC0 == 0x80 else { return nil }
            partial.value = partial.value << 6 | UInt32(byte & 0x3F)
            partial.remaining -= 1
            if partial.remaining == 0 {
                guard partial.value >= partial.minimum, partial.value <= 0x10FFFF else { return nil }
                return advance(from, codePoint: partial.value)
            }
        }
        // Mid-character: alive while some stack's class holds a code point that starts this way.
        let shift = UInt32(6 * partial.remaining)
        // Overlong forms are not UTF-8: a sequence's length sets the least code point it can hold.
        let lower = max(partial.value << shift, partial.minimum)
        let upper = min((partial.value << shift) | ((1 << shift) - 1), 0x10FFFF)
        guard lower <= upper else { return nil }
        for top in from.tops {
            guard case .character(let cls) = grammar.elements[Int(arena.position(top))] else { continue }
            if grammar.classes[Int(cls)].intersects(lower, upper) {
                var result = from
                result.partial = partial
                result.acceptsEnd = false
                return result
            }
        }
        return nil
    }

    func advance(_ from: MatchState, codePoint: UInt32) -> MatchState? {
        var expander = Expander(grammar: grammar, arena: arena)
        for top in from.tops {
            let position = arena.position(top)
            guard case .character(let cls) = grammar.elements[Int(position)], grammar.matches(cls, codePoint) else {
                continue
            }
            expander.expand(position: position + 1, parent: arena.parent(top))
        }
        let result = expander.finish(partial: .none)
        return result.tops.isEmpty && !result.acceptsEnd ? nil : result
    }
}

/// The bytes read of a code point not yet complete.
struct UTF8Partial: Sendable, Hashable {
    var value: UInt32 = 0
    var remaining: Int = 0
    /// The least code point a sequence of this length encodes.
    var minimum: UInt32 = 0
    static let none = UTF8Partial()
}

struct MatchState: Sendable {
    /// Arena nodes on top of the live stacks (each at a character class).
    var tops: [Int32] = []
    /// Whether some stack has ended: the root rule is complete.
    var acceptsEnd = false
    var partial = UTF8Partial.none
}

/// Stack nodes, appended and never changed: (position, parent). A class so that matchers and the mask
/// search share one growing store; `truncate` drops nodes a search made and no state keeps.
final class StackArena: @unchecked Sendable {
    // @unchecked: one matcher (one request) uses it at a time; the engine never shares a matcher.
    private(set) var positions: [Int32] = []
    private(set) var parents: [Int32] = []

    var count: Int { positions.count }

    @inline(__always) func position(_ node: Int32) -> Int32 { positions[Int(node)] }
    @inline(__always) func parent(_ node: Int32) -> Int32 { parents[Int(node)] }

    func push(position: Int32, parent: Int32) -> Int32 {
        positions.append(position)
        parents.append(parent)
        return Int32(positions.count - 1)
    }

    func truncate(to count: Int) {
        positions.removeSubrange(count...)
        parents.removeSubrange(count...)
    }

    /// The stack under `node`, bottom first (the node itself last).
    func stack(_ node: Int32) -> [Int32] {
        var result: [Int32] = []
        var current = node
        while current >= 0 {
            result.append(positions[Int(current)])
            current = parents[Int(current)]
        }
        return result.reversed()
    }
}

/// Expands positions into stacks whose top is a character class, following rule references and
/// popping finished rules; duplicates (same position over the same parent) are kept once.
struct Expander {
    let grammar: CompiledGrammar
    let arena: StackArena
    var tops: [Int32] = []
    /// (position, parent) of each top and of each resume node made here: a handful at a time, so a linear
    /// search beats hashing (this runs for every byte of every token in a mask's walk).
    var seenTops: [Int64] = []
    var resumeKeys: [Int64] = []
    var resumeNodes: [Int32] = []
    var acceptsEnd = false

    init(grammar: CompiledGrammar, arena: StackArena) {
        self.grammar = grammar
        self.arena = arena
    }

    @inline(__always) static func key(_ position: Int32, _ parent: Int32) -> Int64 {
        Int64(position) << 32 | Int64(UInt32(bitPattern: parent))
    }

    mutating func expand(position: Int32, parent: Int32) {
        switch grammar.elements[Int(position)] {
        case .end:
            if parent < 0 {
                acceptsEnd = true
            } else {
                expand(position: arena.position(parent), parent: arena.parent(parent))
            }
        case .character:
            let key = Self.key(position, parent)
            guard !seenTops.contains(key) else { return }
            seenTops.append(key)
            tops.append(arena.push(position: position, parent: parent))
        case .rule(let rule):
            // Where to resume once the rule ends; nothing to resume where the sequence ends with it.
            var resume = parent
            if grammar.elements[Int(position) + 1] != .end {
                let key = Self.key(position + 1, parent)
                if let index = resumeKeys.firstIndex(of: key) {
                    resume = resumeNodes[index]
                } else {
                    resume = arena.push(position: position + 1, parent: parent)
                    resumeKeys.append(key)
                    resumeNodes.append(resume)
                }
            }
            for start in grammar.alternatives[Int(rule)] {
                expand(position: start, parent: resume)
            }
        }
    }

    func finish(partial: UTF8Partial) -> MatchState {
        MatchState(tops: tops, acceptsEnd: acceptsEnd, partial: partial)
    }
}
