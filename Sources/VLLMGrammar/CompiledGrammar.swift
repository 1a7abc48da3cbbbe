/// A grammar lowered for matching: every rule a list of alternatives, each alternative a run of
/// elements — a character class or a rule reference — closed by an end marker, all in one flat array so
/// a matcher position is one integer. Choices nested in sequences and repetitions become rules of their
/// own (`x*` is `r ::= x r | ""`, right-recursive, so a matcher's stack does not grow with it).
/// Immutable and shared: one per (grammar, nothing else), cached by the caller.
public final class CompiledGrammar: Sendable {
    enum Element: Hashable {
        case character(Int32)
        case rule(Int32)
        case end
    }

    let elements: [Element]
    let classes: [CharacterClass]
    /// Per class, which ASCII code points it holds (a fast path for the common case).
    let asciiMasks: [(UInt64, UInt64)]
    /// Per rule, the element index where each alternative starts.
    let alternatives: [[Int32]]
    let ruleNames: [String]
    let rootRule: Int32

    public convenience init(ebnf: String, rootName: String = "root") throws(GrammarError) {
        try self.init(try EBNFParser.parse(ebnf, rootName: rootName))
    }

    public init(_ grammar: Grammar) throws(GrammarError) {
        var lowering = Lowering(grammar: grammar)
        try lowering.run()
        var elements: [Element] = []
        var alternatives: [[Int32]] = []
        for rule in lowering.rules {
            var starts: [Int32] = []
            for alternative in rule {
                starts.append(Int32(elements.count))
                elements += alternative
                elements.append(.end)
            }
            alternatives.append(starts)
        }
        self.elements = elements
        self.alternatives = alternatives
        self.classes = lowering.classes
        self.asciiMasks = lowering.classes.map { cls in
            var low: UInt64 = 0
            var high: UInt64 = 0
            for codePoint in UInt32(0)..<128 where cls.contains(codePoint) {
                if codePoint < 64 { low |= 1 << UInt64(codePoint) } else { high |= 1 << UInt64(codePoint - 64) }
            }
            return (low, high)
        }
        self.ruleNames = lowering.names
        self.rootRule = lowering.index[grammar.rootName]!
        try checkNoLeftRecursion()
    }

    @inline(__always)
    func matches(_ classIndex: Int32, _ codePoint: UInt32) -> Bool {
        if codePoint < 64 { return asciiMasks[Int(classIndex)].0 & (1 << UInt64(codePoint)) != 0 }
        if codePoint < 128 { return asciiMasks[Int(classIndex)].1 & (1 << UInt64(codePoint - 64)) != 0 }
        return classes[Int(classIndex)].contains(codePoint)
    }

    /// A matcher expands rule references until a character is on top of every stack; a rule that can
    /// reach itself without consuming a character would expand forever, so it is refused here.
    private func checkNoLeftRecursion() throws(GrammarError) {
        let ruleCount = alternatives.count
        var nullable = [Bool](repeating: false, count: ruleCount)
        var changed = true
        while changed {
            changed = false
            for rule in 0..<ruleCount where !nullable[rule] {
                for start in alternatives[rule] {
                    var position = Int(start)
                    var allNullable = true
                    while elements[position] != .end {
                        if case .rule(let other) = elements[position], nullable[Int(other)] {
                            position += 1
                            continue
                        }
                        allNullable = false
                        break
                    }
                    if allNullable {
                        nullable[rule] = true
                        changed = true
                        break
                    }
                }
            }
        }
        // The rules each rule can begin with (past nullable prefixes), then a search for a cycle.
        var leftCorners = [[Int32]](repeating: [], count: ruleCount)
        for rule in 0..<ruleCount {
            for start in alternatives[rule] {
                var position = Int(start)
                while case .rule(let other) = elements[position] {
                    leftCorners[rule].append(other)
                    guard nullable[Int(other)] else { break }
                    position += 1
                }
            }
        }
        var state = [UInt8](repeating: 0, count: ruleCount)  // 0 new, 1 on the path, 2 done
        for start in 0..<ruleCount where state[start] == 0 {
            var path: [(rule: Int, next: Int)] = [(start, 0)]
            state[start] = 1
            while let top = path.last {
                if top.next < leftCorners[top.rule].count {
                    path[path.count - 1].next += 1
                    let other = Int(leftCorners[top.rule][top.next])
                    if state[other] == 1 {
                        throw GrammarError(
                            "rule '\(displayName(other))' can reach itself without matching a character (left recursion),"
                                + " which this grammar engine does not support")
                    }
                    if state[other] == 0 {
                        state[other] = 1
                        path.append((other, 0))
                    }
                } else {
                    state[top.rule] = 2
                    path.removeLast()
                }
            }
        }
    }

    private func displayName(_ rule: Int) -> String { ruleNames[rule] }

    /// Lowers expressions into alternatives of elements, adding rules for nested choices and repetitions.
    private struct Lowering {
        let grammar: Grammar
        var rules: [[[Element]]] = []
        var names: [String] = []
        var index: [String: Int32] = [:]
        var classes: [CharacterClass] = []
        var classIndex: [CharacterClass: Int32] = [:]
        var auxiliary: [[[Element]]: Int32] = [:]

        init(grammar: Grammar) { self.grammar = grammar }

        mutating func run() throws(GrammarError) {
            for rule in grammar.rules {
                guard index[rule.name] == nil else { throw GrammarError("rule '\(rule.name)' is defined twice") }
                index[rule.name] = Int32(names.count)
                names.append(rule.name)
                rules.append([])
            }
            guard index[grammar.rootName] != nil else { throw GrammarError("the grammar has no '\(grammar.rootName)' rule") }
            for rule in grammar.rules {
                let lowered = try alternatives(rule.body, in: rule.name)
                rules[Int(index[rule.name]!)] = lowered
            }
        }

        mutating func character(_ cls: CharacterClass) -> Element {
            if let existing = classIndex[cls] { return .character(existing) }
            let id = Int32(classes.count)
            classes.append(cls)
            classIndex[cls] = id
            return .character(id)
        }

        mutating func auxiliaryRule(_ body: [[Element]], named name: String) -> Element {
            if let existing = auxiliary[body] { return .rule(existing) }
            let id = Int32(rules.count)
            rules.append(body)
            names.append(name)
            auxiliary[body] = id
            return .rule(id)
        }

        /// `expression` as one run of elements (a rule of its own where it has several alternatives).
        mutating func run(_ expression: GrammarExpression, in owner: String) throws(GrammarError) -> [Element] {
            let lowered = try alternatives(expression, in: owner)
            if lowered.count == 1 { return lowered[0] }
            return [auxiliaryRule(lowered, named: "\(owner)_choice")]
        }

        mutating func alternatives(_ expression: GrammarExpression, in owner: String) throws(GrammarError) -> [[Element]] {
            switch expression {
            case .empty:
                return [[]]
            case .literal(let codePoints):
                return [codePoints.map { character(.character($0)) }]
            case .characterClass(let cls):
                return [[character(cls)]]
            case .rule(let name):
                guard let id = index[name] else {
                    throw GrammarError("rule '\(owner)' refers to '\(name)', which is not defined")
                }
                return [[.rule(id)]]
            case .choice(let items):
                var result: [[Element]] = []
                for item in items { result += try alternatives(item, in: owner) }
                return result
            case .sequence(let items):
                var result: [Element] = []
                for item in items { result += try run(item, in: owner) }
                return [result]
            case .repetition(let item, let minimum, let maximum):
                let once = try run(item, in: owner)
                var result: [Element] = []
                for _ in 0..<minimum { result += once }
                if let maximum {
                    // At most `maximum - minimum` more: opt_k ::= item opt_(k-1) | "".
                    var tail: [Element] = []
                    for _ in 0..<(maximum - minimum) {
                        tail = [auxiliaryRule([once + tail, []], named: "\(owner)_repeat")]
                    }
                    result += tail
                } else {
                    let id = Int32(rules.count)
                    rules.append([once + [.rule(id)], []])
                    names.append("\(owner)_star")
                    result.append(.rule(id))
                }
                return [result]
            }
        }
    }
}
