/// A JSON Schema bound written out exactly: sign, integer digits (no leading zeros; "0" for zero) and
/// fraction digits (no trailing zeros). Built from the bound's double, printed shortest (as xgrammar, which
/// reads bounds as doubles, sees them: `0.1` is 0.1, not the double's long expansion).
struct DecimalText: Equatable {
    var negative: Bool
    var integer: String
    var fraction: String

    init(negative: Bool = false, integer: String, fraction: String = "") {
        let trimmed = integer.drop { $0 == "0" }
        self.integer = trimmed.isEmpty ? "0" : String(trimmed)
        self.fraction = String(fraction.reversed().drop { $0 == "0" }.reversed())
        self.negative = negative && !(self.integer == "0" && self.fraction.isEmpty)
    }

    /// `value`'s shortest round-trip spelling ("1.5", "1e-07", "1e+20"), as exact decimal digits.
    init(_ value: Double) {
        var text = Substring("\(value)")
        let negative = text.first == "-"
        if negative { text = text.dropFirst() }
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(text[text.index(after: e)...]) ?? 0
            text = text[..<e]
        }
        let point = text.firstIndex(of: ".")
        let integerDigits = point.map { text[..<$0] } ?? text
        let digits = text.filter { $0 != "." }
        let position = integerDigits.count + exponent
        let integer: String
        let fraction: String
        if position <= 0 {
            integer = "0"
            fraction = String(repeating: "0", count: -position) + digits
        } else if position >= digits.count {
            integer = digits + String(repeating: "0", count: position - digits.count)
            fraction = ""
        } else {
            integer = String(digits.prefix(position))
            fraction = String(digits.dropFirst(position))
        }
        self.init(negative: negative, integer: integer, fraction: fraction)
    }

    var magnitude: DecimalText { DecimalText(integer: integer, fraction: fraction) }
    var isZero: Bool { integer == "0" && fraction.isEmpty }

    /// Compares magnitudes: -1, 0, 1.
    static func compareMagnitudes(_ a: DecimalText, _ b: DecimalText) -> Int {
        if a.integer.count != b.integer.count { return a.integer.count < b.integer.count ? -1 : 1 }
        if a.integer != b.integer { return a.integer < b.integer ? -1 : 1 }
        // Fractions without trailing zeros compare as strings.
        if a.fraction != b.fraction { return a.fraction < b.fraction ? -1 : 1 }
        return 0
    }

    static func < (a: DecimalText, b: DecimalText) -> Bool {
        switch (a.negative, b.negative) {
        case (true, false): return true
        case (false, true): return false
        case (false, false): return compareMagnitudes(a, b) < 0
        case (true, true): return compareMagnitudes(a, b) > 0
        }
    }
}

/// Canonical decimal integers in a range, as alternatives of digit classes.
enum IntegerRange {
    static func alternatives(lower: Int64?, upper: Int64?) -> [GrammarExpression] {
        var result: [GrammarExpression] = []
        // Negative part: "-" followed by magnitudes in [max(1, -upper), -lower].
        if lower.map({ $0 < 0 }) ?? true {
            let magnitudeLow = UInt64(max(1, -(min(upper ?? -1, -1))))
            let magnitudeHigh = lower.map { UInt64(-$0) }
            if magnitudeHigh.map({ $0 >= magnitudeLow }) ?? true {
                result += unsigned(String(magnitudeLow), magnitudeHigh.map { String($0) }).map { .sequence([.literal("-"), $0]) }
            }
        }
        if upper.map({ $0 >= 0 }) ?? true {
            let low = UInt64(max(0, lower ?? 0))
            result += unsigned(String(low), upper.map { String($0) })
        }
        return result
    }

    /// [low, high] (high nil: unbounded) over non-negative integers written as canonical digit strings.
    static func unsigned(_ lowText: String, _ highText: String?) -> [GrammarExpression] {
        let digit = GrammarExpression.characterClass(CharacterClass(ranges: [0x30...0x39]))
        guard let highText else {
            // Up to the largest number of low's length, then any longer number.
            let bounded = sameLengthSplit(lowText, String(repeating: "9", count: lowText.count))
            let longer = GrammarExpression.sequence([
                .characterClass(CharacterClass(ranges: [0x31...0x39])), .repetition(digit, min: lowText.count, max: nil),
            ])
            return bounded + [longer]
        }
        guard lowText.count < highText.count || (lowText.count == highText.count && lowText <= highText) else { return [] }
        var result: [GrammarExpression] = []
        for length in lowText.count...highText.count {
            let from = length == lowText.count ? lowText : "1" + String(repeating: "0", count: length - 1)
            let to = length == highText.count ? highText : String(repeating: "9", count: length)
            result += sameLengthSplit(from, to)
        }
        return result
    }

    /// `text` + 1, `text` − 1 (text ≥ 1) for canonical digit strings.
    static func increment(_ text: String) -> String {
        var digits = Array(text.utf8)
        var index = digits.count - 1
        while index >= 0 && digits[index] == 0x39 { digits[index] = 0x30; index -= 1 }
        if index < 0 { return "1" + String(decoding: digits, as: UTF8.self) }
        digits[index] += 1
        return String(decoding: digits, as: UTF8.self)
    }

    static func decrement(_ text: String) -> String {
        var digits = Array(text.utf8)
        var index = digits.count - 1
        while digits[index] == 0x30 { digits[index] = 0x39; index -= 1 }
        digits[index] -= 1
        let result = String(decoding: digits, as: UTF8.self).drop { $0 == "0" }
        return result.isEmpty ? "0" : String(result)
    }

    /// Numbers of one length from `low` to `high` (same length), digit by digit.
    static func sameLengthSplit(_ low: String, _ high: String) -> [GrammarExpression] {
        let lowDigits = Array(low.unicodeScalars).map { $0.value }
        let highDigits = Array(high.unicodeScalars).map { $0.value }
        return split(lowDigits[...], highDigits[...])
    }

    private static func split(_ low: ArraySlice<UInt32>, _ high: ArraySlice<UInt32>) -> [GrammarExpression] {
        let digit = GrammarExpression.characterClass(CharacterClass(ranges: [0x30...0x39]))
        guard let first = low.first, let last = high.first else { return [.empty] }
        if low.count == 1 { return [.characterClass(CharacterClass(ranges: [first...last]))] }
        if first == last {
            return split(low.dropFirst(), high.dropFirst()).map { .sequence([.literal([first]), $0]) }
        }
        var result: [GrammarExpression] = []
        let rest = low.count - 1
        let lowTailIsZeros = low.dropFirst().allSatisfy { $0 == 0x30 }
        let highTailIsNines = high.dropFirst().allSatisfy { $0 == 0x39 }
        var middleLow = first + 1
        var middleHigh = last - 1
        if lowTailIsZeros {
            middleLow = first
        } else {
            let nines = ArraySlice(repeating: UInt32(0x39), count: rest)
            result += split(low.dropFirst(), nines).map { .sequence([.literal([first]), $0]) }
        }
        if highTailIsNines { middleHigh = last }
        if middleLow <= middleHigh {
            result.append(.sequence([.characterClass(CharacterClass(ranges: [middleLow...middleHigh])),
                                     .repetition(digit, min: rest, max: rest)]))
        }
        if !highTailIsNines {
            let zeros = ArraySlice(repeating: UInt32(0x30), count: rest)
            result += split(zeros, high.dropFirst()).map { .sequence([.literal([last]), $0]) }
        }
        return result
    }
}

/// Decimal numbers in a range, in the language xgrammar 0.2.7 gives a `number` with bounds (its float
/// range regex at precision 6): `-?(0|[1-9][0-9]*)(\.[0-9]{1,6})?` — no exponent, at most six fraction
/// digits — whose value lies within the bounds; never "-0", and no "-" at all where the lower bound is
/// zero or more (so "-0.0" only where the lower bound is negative or absent).
enum NumberRange {
    struct Bound {
        var value: DecimalText
        var exclusive: Bool
    }

    static let precision = 6

    /// The alternatives, empty where no number is in range.
    static func alternatives(lower: Bound?, upper: Bound?) -> [GrammarExpression] {
        var result: [GrammarExpression] = []
        let zero = Bound(value: DecimalText(integer: "0"), exclusive: false)
        // Written without a sign: magnitudes from max(lower, 0).
        if upper.map({ !$0.value.negative }) ?? true {
            let low = lower.flatMap { $0.value.negative ? nil : $0 } ?? zero
            result += magnitudes(from: low, to: upper, bareZero: true)
        }
        // With a sign: only where the lower bound is negative or absent; magnitudes from max(-upper, 0) to -lower.
        if lower.map({ $0.value.negative }) ?? true {
            let low = upper.flatMap { $0.value.negative || $0.value.isZero ? Bound(value: $0.value.magnitude, exclusive: $0.exclusive) : nil } ?? zero
            let high = lower.map { Bound(value: $0.value.magnitude, exclusive: $0.exclusive) }
            result += magnitudes(from: low, to: high, bareZero: false).map { .sequence([.literal("-"), $0]) }
        }
        return result
    }

    /// Unsigned spellings with values in [low, high] (high nil: unbounded); `bareZero`: whether "0" (no
    /// fraction) may be written.
    static func magnitudes(from low: Bound, to high: Bound?, bareZero: Bool) -> [GrammarExpression] {
        if let high {
            let order = DecimalText.compareMagnitudes(low.value, high.value)
            if order > 0 || (order == 0 && (low.exclusive || high.exclusive)) { return [] }
        }
        let digit = JSONSchemaGrammar.digit
        let anyFraction = GrammarExpression.repetition(
            .sequence([.literal("."), .repetition(digit, min: 1, max: precision)]), min: 0, max: 1)
        var result: [GrammarExpression] = []
        func add(_ integer: String, _ fraction: GrammarExpression?) {
            if let fraction { result.append(.sequence([.literal(integer), fraction])) }
        }
        let lowInteger = low.value.integer
        let bare = bareZero || lowInteger != "0"
        guard let high, high.value.integer == lowInteger else {
            add(lowInteger, fraction(low: low.value.fraction, lowExclusive: low.exclusive, high: nil, highExclusive: false, bare: bare))
            let next = IntegerRange.increment(lowInteger)
            if let high {
                if high.value.integer != next {
                    let middle = IntegerRange.unsigned(next, IntegerRange.decrement(high.value.integer))
                    result += middle.map { .sequence([$0, anyFraction]) }
                }
                add(high.value.integer, fraction(low: "", lowExclusive: false, high: high.value.fraction,
                                                 highExclusive: high.exclusive, bare: true))
            } else {
                result += IntegerRange.unsigned(next, nil).map { .sequence([$0, anyFraction]) }
            }
            return result
        }
        add(lowInteger, fraction(low: low.value.fraction, lowExclusive: low.exclusive, high: high.value.fraction,
                                 highExclusive: high.exclusive, bare: bare))
        return result
    }

    /// Nothing or "." and 1–6 digits, such that 0.digits lies within [0.low, 0.high] (high nil: below 1);
    /// nil where nothing does. `bare`: whether nothing (no fraction) may be written at all.
    static func fraction(low: String, lowExclusive: Bool, high: String?, highExclusive: Bool, bare: Bool) -> GrammarExpression? {
        let lowDigits = Array(low.utf8).map { Int($0) - 0x30 }
        let highDigits = high.map { Array($0.utf8).map { Int($0) - 0x30 } }
        let digit = JSONSchemaGrammar.digit
        func at(_ digits: [Int], _ index: Int) -> Int { index < digits.count ? digits[index] : 0 }

        /// Whether a spelling of `depth` digits, still equal to the bounds' first digits where tight, is in range.
        func accepts(_ depth: Int, _ tightLow: Bool, _ tightHigh: Bool) -> Bool {
            if tightLow && (lowDigits.dropFirst(depth).contains { $0 != 0 } || lowExclusive) { return false }
            if tightHigh, let highDigits, !highDigits.dropFirst(depth).contains(where: { $0 != 0 }) && highExclusive { return false }
            return true
        }
        /// The ways to continue after `depth` digits: a digit class and what follows it.
        func continuations(_ depth: Int, _ tightLow: Bool, _ tightHigh: Bool) -> [GrammarExpression] {
            guard depth < precision else { return [] }
            let lowDigit = tightLow ? at(lowDigits, depth) : 0
            let highDigit = tightHigh ? at(highDigits!, depth) : 9
            guard lowDigit <= highDigit else { return [] }
            func cls(_ from: Int, _ to: Int) -> GrammarExpression {
                .characterClass(CharacterClass(ranges: [UInt32(0x30 + from)...UInt32(0x30 + to)]))
            }
            var result: [GrammarExpression] = []
            func branch(_ from: Int, _ to: Int, _ nextLow: Bool, _ nextHigh: Bool) {
                guard from <= to else { return }
                let next = state(depth + 1, nextLow, nextHigh)
                if let next { result.append(.sequence([cls(from, to), next])) }
            }
            if tightLow && tightHigh && lowDigit == highDigit {
                branch(lowDigit, lowDigit, true, true)
                return result
            }
            if tightLow { branch(lowDigit, lowDigit, true, false) }
            branch(tightLow ? lowDigit + 1 : lowDigit, tightHigh ? highDigit - 1 : highDigit, false, false)
            if tightHigh { branch(highDigit, highDigit, false, true) }
            return result
        }
        /// What may follow `depth` ≥ 1 digits (nil: nothing in range).
        func state(_ depth: Int, _ tightLow: Bool, _ tightHigh: Bool) -> GrammarExpression? {
            if !tightLow && !tightHigh { return .repetition(digit, min: 0, max: precision - depth) }
            var options = continuations(depth, tightLow, tightHigh)
            if accepts(depth, tightLow, tightHigh) { options.insert(.empty, at: 0) }
            return options.isEmpty ? nil : options.count == 1 ? options[0] : .choice(options)
        }
        let tightHigh = high != nil
        var options: [GrammarExpression] = []
        if bare && accepts(0, true, tightHigh) { options.append(.empty) }
        let digits = continuations(0, true, tightHigh)
        if !digits.isEmpty { options.append(.sequence([.literal("."), digits.count == 1 ? digits[0] : .choice(digits)])) }
        return options.isEmpty ? nil : options.count == 1 ? options[0] : .choice(options)
    }
}
