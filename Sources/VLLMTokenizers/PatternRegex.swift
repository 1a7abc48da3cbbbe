// A backtracking regex matcher over Unicode scalars with Oniguruma's leftmost-first semantics, for the
// Split / Replace patterns of tokenizer.json. The patterns real models ship (GPT-2, Llama-3, Qwen) also
// have hand-written matchers (`SplitPatternMatcher`); this engine serves every other pattern.

/// A compiled pattern.
struct PatternRegex: Sendable {
    private enum Instruction: Sendable {
        case scalar(UInt32)
        case foldedScalar(UInt32)
        case charClass(Int)
        case anyExceptNewline
        case split(prefer: Int, other: Int)
        case jump(Int)
        case lineStart, lineEnd, textStart, textEnd
        case lookahead(program: Int, negative: Bool)
        case match
    }

    private struct Compiler {
        var programs: [[Instruction]] = []
        var classes: [CharClass] = []
        let pattern: String

        mutating func compileProgram(_ node: RegexNode) throws(TokenizerError) -> Int {
            var code: [Instruction] = []
            try emit(node, into: &code)
            code.append(.match)
            programs.append(code)
            return programs.count - 1
        }

        func canBeEmpty(_ node: RegexNode) -> Bool {
            switch node {
            case .empty, .lookahead, .lineStart, .lineEnd, .textStart, .textEnd: return true
            case .literal, .charClass, .anyExceptNewline: return false
            case .sequence(let items): return items.allSatisfy(canBeEmpty)
            case .alternation(let items): return items.contains(where: canBeEmpty)
            case .repetition(let inner, let minCount, _, _): return minCount == 0 || canBeEmpty(inner)
            }
        }

        mutating func emit(_ node: RegexNode, into code: inout [Instruction]) throws(TokenizerError) {
            switch node {
            case .empty: break
            case .literal(let value, let caseInsensitive):
                code.append(caseInsensitive ? .foldedScalar(PatternRegex.fold(value)) : .scalar(value))
            case .charClass(let charClass):
                classes.append(charClass)
                code.append(.charClass(classes.count - 1))
            case .anyExceptNewline: code.append(.anyExceptNewline)
            case .lineStart: code.append(.lineStart)
            case .lineEnd: code.append(.lineEnd)
            case .textStart: code.append(.textStart)
            case .textEnd: code.append(.textEnd)
            case .sequence(let items):
                for item in items { try emit(item, into: &code) }
            case .alternation(let branches):
                var jumpsToEnd: [Int] = []
                for (i, branch) in branches.enumerated() {
                    if i < branches.count - 1 {
                        let splitAt = code.count
                        code.append(.jump(0))
                        try emit(branch, into: &code)
                        jumpsToEnd.append(code.count)
                        code.append(.jump(0))
                        code[splitAt] = .split(prefer: splitAt + 1, other: code.count)
                    } else {
                        try emit(branch, into: &code)
                    }
                }
                for at in jumpsToEnd { code[at] = .jump(code.count) }
            case .repetition(let inner, let minCount, let maxCount, let greedy):
                for _ in 0..<minCount { try emit(inner, into: &code) }
                if let maxCount {
                    var exits: [Int] = []
                    for _ in minCount..<maxCount {
                        exits.append(code.count)
                        code.append(.jump(0))
                        try emit(inner, into: &code)
                    }
                    for at in exits {
                        code[at] = greedy ? .split(prefer: at + 1, other: code.count) : .split(prefer: code.count, other: at + 1)
                    }
                } else {
                    if canBeEmpty(inner) {
                        throw .invalidPattern(pattern: pattern, message: "an unbounded repetition of something that can match empty")
                    }
                    let loop = code.count
                    code.append(.jump(0))
                    try emit(inner, into: &code)
                    code.append(.jump(loop))
                    code[loop] = greedy ? .split(prefer: loop + 1, other: code.count) : .split(prefer: code.count, other: loop + 1)
                }
            case .lookahead(let inner, let negative):
                let program = try compileProgram(inner)
                code.append(.lookahead(program: program, negative: negative))
            }
        }
    }

    let pattern: String
    private let programs: [[Instruction]]
    private let classes: [CharClass]
    /// Each class's membership for every Basic Multilingual Plane scalar, one bit each, computed once at
    /// compile time: evaluating class items per character dominated matching time.
    private let classTables: [[UInt64]]
    private let mainProgram: Int

    init(_ pattern: String) throws(TokenizerError) {
        var parser = RegexParser(pattern)
        let tree = try parser.parse()
        var compiler = Compiler(pattern: pattern)
        mainProgram = try compiler.compileProgram(tree)
        programs = compiler.programs
        classes = compiler.classes
        classTables = ClassTableBuilder().tables(for: compiler.classes)
        self.pattern = pattern
    }

    @inline(__always) private func classContains(_ index: Int, _ value: UInt32) -> Bool {
        if value < 0x10000 { return classTables[index][Int(value >> 6)] & (1 << UInt64(value & 63)) != 0 }
        return Self.classMatches(classes[index], value)
    }

    /// Simple case folding, enough for the (?i:...) groups of tokenizer patterns.
    static func fold(_ value: UInt32) -> UInt32 {
        if value < 128 { return (value >= 65 && value <= 90) ? value + 32 : value }
        if value == 0x17F { return 0x73 }  // LATIN SMALL LETTER LONG S folds to s
        if value == 0x212A { return 0x6B }  // KELVIN SIGN folds to k
        if value == 0x212B { return 0xE5 }  // ANGSTROM SIGN folds to å
        guard let scalar = Unicode.Scalar(value) else { return value }
        let lower = scalar.properties.lowercaseMapping.unicodeScalars
        if lower.count == 1, let first = lower.first { return first.value }
        return value
    }

    static func matches(_ item: ClassItem, _ c: UInt32) -> Bool {
        switch item {
        case .range(let low, let high): return c >= low && c <= high
        case .nested(let inner): return classMatches(inner, c)
        case .negated(let inner): return !matches(inner, c)
        default: break
        }
        guard let scalar = Unicode.Scalar(c) else { return false }
        switch item {
        case .letter: return scalar.isLetter
        case .number: return scalar.isNumber
        case .space: return scalar.isSpace
        case .word:
            if c < 128 { return scalar.isLetter || scalar.isNumber || c == 95 }
            switch scalar.properties.generalCategory {
            case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter, .nonspacingMark,
                .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation:
                return true
            default: return false
            }
        case .digit:
            return c < 128 ? (c >= 48 && c <= 57) : scalar.properties.generalCategory == .decimalNumber
        case .punctuation: return scalar.isUnicodePunctuation
        case .mark: return scalar.isMark
        case .symbol:
            switch scalar.properties.generalCategory {
            case .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol: return true
            default: return false
            }
        case .separator:
            switch scalar.properties.generalCategory {
            case .spaceSeparator, .lineSeparator, .paragraphSeparator: return true
            default: return false
            }
        case .category(let category): return scalar.properties.generalCategory == category
        case .range, .nested, .negated: return false
        }
    }

    static func classMatches(_ charClass: CharClass, _ c: UInt32) -> Bool {
        var found = charClass.items.contains { matches($0, c) }
        if !found, charClass.caseInsensitive, let scalar = Unicode.Scalar(c) {
            let variants = [scalar.properties.lowercaseMapping, scalar.properties.uppercaseMapping]
            for variant in variants where variant.unicodeScalars.count == 1 {
                let other = variant.unicodeScalars.first!.value
                if other != c, charClass.items.contains(where: { matches($0, other) }) {
                    found = true
                    break
                }
            }
        }
        return found != charClass.isNegated
    }

    /// The end of the leftmost-first match of `program` anchored at `start`, or nil.
    private func run(_ program: Int, _ text: UnsafeBufferPointer<UInt32>, _ start: Int, _ stack: inout [(pc: Int, pos: Int)]) -> Int? {
        let code = programs[program]
        stack.removeAll(keepingCapacity: true)
        var pc = 0
        var pos = start
        let count = text.count
        while true {
            var ok = true
            switch code[pc] {
            case .scalar(let value):
                if pos < count, text[pos] == value {
                    pos += 1
                    pc += 1
                } else {
                    ok = false
                }
            case .foldedScalar(let value):
                if pos < count, Self.fold(text[pos]) == value {
                    pos += 1
                    pc += 1
                } else {
                    ok = false
                }
            case .charClass(let index):
                if pos < count, classContains(index, text[pos]) {
                    pos += 1
                    pc += 1
                } else {
                    ok = false
                }
            case .anyExceptNewline:
                if pos < count, text[pos] != 0x0A {
                    pos += 1
                    pc += 1
                } else {
                    ok = false
                }
            case .split(let prefer, let other):
                stack.append((other, pos))
                pc = prefer
            case .jump(let target):
                pc = target
            case .lineStart:
                if pos == 0 || text[pos - 1] == 0x0A { pc += 1 } else { ok = false }
            case .lineEnd:
                // Oniguruma's Ruby syntax: '$' matches at the end and before every newline.
                if pos == count || text[pos] == 0x0A { pc += 1 } else { ok = false }
            case .textStart:
                if pos == 0 { pc += 1 } else { ok = false }
            case .textEnd:
                if pos == count { pc += 1 } else { ok = false }
            case .lookahead(let sub, let negative):
                var subStack: [(pc: Int, pos: Int)] = []
                let found = run(sub, text, pos, &subStack) != nil
                if found != negative { pc += 1 } else { ok = false }
            case .match:
                return pos
            }
            if !ok {
                guard let resume = stack.popLast() else { return nil }
                pc = resume.pc
                pos = resume.pos
            }
        }
    }

    /// All matches, left to right, as half-open scalar ranges. Like the Oniguruma iterator HF uses, an
    /// empty match right where the previous match ended is skipped; other empty matches are reported.
    func matches(in text: UnsafeBufferPointer<UInt32>) -> [Range<Int>] {
        var result: [Range<Int>] = []
        var searchStart = 0
        var lastMatchEnd: Int?
        var stack: [(pc: Int, pos: Int)] = []
        stack.reserveCapacity(64)
        while searchStart <= text.count {
            var found: Range<Int>?
            var position = searchStart
            while position <= text.count {
                if let end = run(mainProgram, text, position, &stack) {
                    found = position..<end
                    break
                }
                position += 1
            }
            guard let match = found else { break }
            if match.isEmpty, lastMatchEnd == match.upperBound {
                searchStart += 1
                continue
            }
            result.append(match)
            searchStart = match.upperBound
            lastMatchEnd = match.upperBound
        }
        return result
    }
}

/// Builds the BMP membership bitsets of character classes item by item (ranges set directly, property
/// classes from one pass over the scalars' properties), which is far cheaper than testing every scalar
/// against every class.
private struct ClassTableBuilder {
    private static let words = 0x10000 / 64
    private var propertyTables: [String: [UInt64]] = [:]

    func tables(for classes: [CharClass]) -> [[UInt64]] {
        var builder = self
        return classes.map { builder.table(for: $0) }
    }

    private mutating func table(for charClass: CharClass) -> [UInt64] {
        var bits = [UInt64](repeating: 0, count: Self.words)
        for item in charClass.items {
            let itemBits = table(for: item)
            for i in 0..<Self.words { bits[i] |= itemBits[i] }
        }
        if charClass.caseInsensitive {
            // Rare (no shipped pattern has a case-insensitive class): test each scalar directly.
            for value in 0..<UInt32(0x10000) where PatternRegex.classMatches(
                CharClass(items: charClass.items, isNegated: false, caseInsensitive: true), value)
            {
                bits[Int(value >> 6)] |= 1 << UInt64(value & 63)
            }
        }
        if charClass.isNegated {
            for i in 0..<Self.words { bits[i] = ~bits[i] }
        }
        return bits
    }

    private mutating func table(for item: ClassItem) -> [UInt64] {
        switch item {
        case .range(let low, let high):
            var bits = [UInt64](repeating: 0, count: Self.words)
            if low <= 0xFFFF {
                for value in low...min(high, 0xFFFF) { bits[Int(value >> 6)] |= 1 << UInt64(value & 63) }
            }
            return bits
        case .nested(let inner):
            return table(for: inner)
        case .negated(let inner):
            return table(for: inner).map { ~$0 }
        default:
            let key = "\(item)"
            if let cached = propertyTables[key] { return cached }
            var bits = [UInt64](repeating: 0, count: Self.words)
            for value in 0..<UInt32(0x10000) where PatternRegex.matches(item, value) {
                bits[Int(value >> 6)] |= 1 << UInt64(value & 63)
            }
            propertyTables[key] = bits
            return bits
        }
    }
}
