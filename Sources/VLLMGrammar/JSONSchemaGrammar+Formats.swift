/// JSON Schema's string formats and integer bounds, as grammar expressions.
extension JSONSchemaGrammar {
    /// String formats, written from their definitions (RFC 3339 dates and times, RFC 4122 UUIDs, dotted
    /// IPv4, RFC 1123 host names in lower case as xgrammar takes them).
    static func format(_ format: String) -> GrammarExpression? {
        func cls(_ text: String) -> GrammarExpression {
            .characterClass(try! EBNFParser.classFrom(text))
        }
        let d = digit
        let year = GrammarExpression.repetition(d, min: 4, max: 4)
        let month = GrammarExpression.choice([.sequence([.literal("0"), cls("[1-9]")]), .sequence([.literal("1"), cls("[0-2]")])])
        let day = GrammarExpression.choice([
            .sequence([.literal("0"), cls("[1-9]")]), .sequence([cls("[1-2]"), d]), .sequence([.literal("3"), cls("[01]")]),
        ])
        let date = GrammarExpression.sequence([year, .literal("-"), month, .literal("-"), day])
        let hour = GrammarExpression.choice([.sequence([cls("[01]"), d]), .sequence([.literal("2"), cls("[0-3]")])])
        let minute = GrammarExpression.sequence([cls("[0-5]"), d])
        let second = GrammarExpression.choice([minute, .literal("60")])
        let fraction = GrammarExpression.repetition(.sequence([.literal("."), .repetition(d, min: 1, max: nil)]), min: 0, max: 1)
        let offset = GrammarExpression.choice([.literal("Z"), .sequence([cls("[+\\-]"), hour, .literal(":"), minute])])
        let time = GrammarExpression.sequence([hour, .literal(":"), minute, .literal(":"), second, fraction, offset])
        switch format {
        case "date": return date
        case "time": return time
        case "date-time": return .sequence([date, .literal("T"), time])
        case "uuid":
            let hex = GrammarExpression.characterClass(hexDigit)
            return .sequence([
                .repetition(hex, min: 8, max: 8), .literal("-"), .repetition(hex, min: 4, max: 4), .literal("-"),
                .repetition(hex, min: 4, max: 4), .literal("-"), .repetition(hex, min: 4, max: 4), .literal("-"),
                .repetition(hex, min: 12, max: 12),
            ])
        case "ipv4":
            let octet = GrammarExpression.choice([
                .sequence([.literal("25"), cls("[0-5]")]), .sequence([.literal("2"), cls("[0-4]"), d]),
                .sequence([.repetition(cls("[0-1]"), min: 0, max: 1), .repetition(d, min: 0, max: 1), d]),
            ])
            return .sequence([.repetition(.sequence([octet, .literal(".")]), min: 3, max: 3), octet])
        case "hostname":
            let alnum = cls("[a-z0-9]")
            let label = GrammarExpression.sequence([
                alnum, .repetition(.sequence([.repetition(cls("[a-z0-9\\-]"), min: 0, max: nil), alnum]), min: 0, max: 1),
            ])
            return .sequence([label, .repetition(.sequence([.literal("."), label]), min: 0, max: nil)])
        default:
            return nil
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
                result += unsigned(magnitudeLow, magnitudeHigh).map { .sequence([.literal("-"), $0]) }
            }
        }
        if upper.map({ $0 >= 0 }) ?? true {
            let low = UInt64(max(0, lower ?? 0))
            result += unsigned(low, upper.map { UInt64($0) })
        }
        return result
    }

    /// [low, high] (high nil: unbounded) over non-negative integers.
    static func unsigned(_ low: UInt64, _ high: UInt64?) -> [GrammarExpression] {
        let digit = GrammarExpression.characterClass(CharacterClass(ranges: [0x30...0x39]))
        let lowText = String(low)
        guard let high else {
            // Up to the largest number of low's length, then any longer number.
            let bounded = sameLengthSplit(lowText, String(repeating: "9", count: lowText.count))
            let longer = GrammarExpression.sequence([
                .characterClass(CharacterClass(ranges: [0x31...0x39])), .repetition(digit, min: lowText.count, max: nil),
            ])
            return bounded + [longer]
        }
        guard high >= low else { return [] }
        let highText = String(high)
        var result: [GrammarExpression] = []
        for length in lowText.count...highText.count {
            let from = length == lowText.count ? lowText : "1" + String(repeating: "0", count: length - 1)
            let to = length == highText.count ? highText : String(repeating: "9", count: length)
            result += sameLengthSplit(from, to)
        }
        return result
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
