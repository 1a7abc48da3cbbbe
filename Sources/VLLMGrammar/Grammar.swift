/// A context-free grammar over Unicode code points, as xgrammar's EBNF writes one: named rules whose
/// bodies are sequences, choices, literals, character classes, rule references and repetitions.
/// Every constrained-decoding format (JSON Schema, regex, choice lists, EBNF text) becomes one of these;
/// `CompiledGrammar` turns it into what `GrammarMatcher` runs.
public struct Grammar: Sendable, Equatable {
    public var rules: [Rule]
    /// The rule a whole output must match.
    public var rootName: String

    public struct Rule: Sendable, Equatable {
        public var name: String
        public var body: GrammarExpression

        public init(name: String, body: GrammarExpression) {
            self.name = name
            self.body = body
        }
    }

    public init(rules: [Rule], rootName: String = "root") {
        self.rules = rules
        self.rootName = rootName
    }
}

public indirect enum GrammarExpression: Sendable, Equatable, Hashable {
    /// Matches the empty string.
    case empty
    /// These code points, in order.
    case literal([UInt32])
    case characterClass(CharacterClass)
    /// A reference to the rule of this name.
    case rule(String)
    case sequence([GrammarExpression])
    case choice([GrammarExpression])
    /// `min` to `max` (nil: unbounded) repetitions.
    case repetition(GrammarExpression, min: Int, max: Int?)

    public static func literal(_ text: String) -> GrammarExpression {
        .literal(text.unicodeScalars.map(\.value))
    }
}

/// A set of code points: sorted, merged ranges, or their complement.
public struct CharacterClass: Sendable, Hashable {
    public private(set) var ranges: [ClosedRange<UInt32>]
    public private(set) var negated: Bool

    public init(ranges: [ClosedRange<UInt32>], negated: Bool = false) {
        self.ranges = Self.merged(ranges)
        self.negated = negated
    }

    public static func character(_ scalar: UInt32) -> CharacterClass { CharacterClass(ranges: [scalar...scalar]) }

    /// Every code point (the regex `.`, which xgrammar lets match a newline too).
    public static let any = CharacterClass(ranges: [], negated: true)

    public func contains(_ codePoint: UInt32) -> Bool {
        var low = 0
        var high = ranges.count
        while low < high {
            let middle = (low + high) / 2
            if ranges[middle].upperBound < codePoint {
                low = middle + 1
            } else {
                high = middle
            }
        }
        let inside = low < ranges.count && ranges[low].contains(codePoint)
        return inside != negated
    }

    /// Whether some code point in `lower...upper` is in the class.
    public func intersects(_ lower: UInt32, _ upper: UInt32) -> Bool {
        if !negated {
            return ranges.contains { $0.lowerBound <= upper && $0.upperBound >= lower }
        }
        // The complement misses the span only where one range covers it whole (ranges are merged).
        return !ranges.contains { $0.lowerBound <= lower && $0.upperBound >= upper }
    }

    /// The code points in both classes.
    public func intersection(_ other: CharacterClass) -> CharacterClass {
        CharacterClass(ranges: Self.intersect(positiveRanges, other.positiveRanges))
    }

    /// The class as ranges of what it holds (a complement spelled out over all of Unicode).
    var positiveRanges: [ClosedRange<UInt32>] {
        guard negated else { return ranges }
        var result: [ClosedRange<UInt32>] = []
        var next: UInt32 = 0
        for range in ranges {
            if range.lowerBound > next { result.append(next...(range.lowerBound - 1)) }
            next = range.upperBound &+ 1
            if range.upperBound >= 0x10FFFF { return result }
        }
        if next <= 0x10FFFF { result.append(next...0x10FFFF) }
        return result
    }

    static func intersect(_ a: [ClosedRange<UInt32>], _ b: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        var result: [ClosedRange<UInt32>] = []
        var i = 0
        var j = 0
        while i < a.count && j < b.count {
            let lower = max(a[i].lowerBound, b[j].lowerBound)
            let upper = min(a[i].upperBound, b[j].upperBound)
            if lower <= upper { result.append(lower...upper) }
            if a[i].upperBound < b[j].upperBound { i += 1 } else { j += 1 }
        }
        return result
    }

    static func merged(_ ranges: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        var result: [ClosedRange<UInt32>] = []
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = result.last, range.lowerBound <= last.upperBound &+ 1 {
                result[result.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
            } else {
                result.append(range)
            }
        }
        return result
    }
}

/// A grammar that cannot be used, and why (the message names the rule or the position).
public struct GrammarError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
