import Dispatch
import Synchronization
import VLLMCore
import VLLMGrammar

/// Compiles structured-output specs into grammars bound to the model's vocabulary, once per distinct spec.
/// Thread-safe: requests are checked — and so their grammars compiled — on the caller's task, before they
/// reach the engine's thread; a new grammar's first masks are then computed on a background queue while the
/// scheduler holds its requests (vLLM's `WAITING_FOR_FSM`), so a slow schema delays only its own requests.
final class GrammarCompiler: Sendable {
    /// Each id's bytes (`DetokenizerFactory.tokenBytes`), read when the first grammar is compiled.
    private let tokenBytes: @Sendable () -> [[UInt8]?]
    /// The logits' width (the model's vocabulary, often wider than the tokenizer's).
    private let vocabSize: Int
    private let stopTokenIds: [Int32]
    private struct State {
        var vocabulary: GrammarVocabulary?
        var grammars: [StructuredOutputs: TokenGrammar] = [:]
    }
    private let state = Mutex(State())
    private static let cacheLimit = 256

    init(tokenBytes: @escaping @Sendable () -> [[UInt8]?], vocabSize: Int, stopTokenIds: [Int]) {
        self.tokenBytes = tokenBytes
        self.vocabSize = vocabSize
        self.stopTokenIds = stopTokenIds.map(Int32.init)
    }

    /// The grammar of `spec`, compiled on first use; a spec that cannot be compiled is a
    /// `VLLMValidationError` naming what is wrong (a 400 on the server).
    func grammar(for spec: StructuredOutputs) throws -> TokenGrammar {
        if let grammar = state.withLock({ $0.grammars[spec] }) { return grammar }
        let vocabulary = try self.vocabulary()
        let grammar: Grammar
        do {
            switch spec {
            case .json(let schema, let anyWhitespace):
                grammar = try JSONSchemaGrammar.grammar(forSchema: schema, anyWhitespace: anyWhitespace)
            case .jsonObject(let anyWhitespace): grammar = JSONSchemaGrammar.anyJSON(anyWhitespace: anyWhitespace)
            case .regex(let pattern): grammar = try RegexGrammar.grammar(pattern)
            case .choice(let choices):
                guard !choices.isEmpty else { throw GrammarError("`choice` is empty: no output can match it") }
                grammar = Grammar(rules: [.init(name: "root", body: .choice(choices.map { .literal($0) }))])
            case .grammar(let ebnf): grammar = try EBNFParser.parse(ebnf)
            }
            let compiled = TokenGrammar(grammar: try CompiledGrammar(grammar), vocabulary: vocabulary)
            let stored = state.withLock { state in
                if let raced = state.grammars[spec] { return raced }
                if state.grammars.count >= Self.cacheLimit { state.grammars.removeAll() }
                state.grammars[spec] = compiled
                return compiled
            }
            // The masks of its first states, computed beside the engine while its requests wait (held by the
            // scheduler until `isReady`), not in the steps of everyone else.
            if stored === compiled { DispatchQueue.global(qos: .userInitiated).async { compiled.prepare() } }
            return stored
        } catch let error as GrammarError {
            throw VLLMValidationError("Invalid structured output (\(spec.kind)): \(error.message)", parameter: "structured_outputs")
        }
    }

    private func vocabulary() throws -> GrammarVocabulary {
        try state.withLock { state in
            if let vocabulary = state.vocabulary { return vocabulary }
            let bytes = tokenBytes()
            guard !bytes.isEmpty else {
                throw VLLMValidationError("structured outputs need the model's tokenizer, and this engine has none",
                                          parameter: "structured_outputs")
            }
            let vocabulary = GrammarVocabulary(tokenBytes: bytes, stopTokenIds: stopTokenIds, size: vocabSize)
            state.vocabulary = vocabulary
            return vocabulary
        }
    }
}

/// Structured outputs on the engine's side (vLLM's StructuredOutputManager): a matcher per sequence over
/// the grammars `compiler` shares (their masks cached per grammar state, so 100 requests of one schema
/// compute each state's mask once), and the masks of a step, computed on the host's cores before it
/// launches. Confined to the engine's thread; only `compiler` is used from others.
struct StructuredOutputManager {
    let compiler: GrammarCompiler
    private var matchers: [String: TokenMatcher] = [:]
    /// Sequences whose grammar starts after the first of these tokens (the end of their reasoning), none
    /// generated yet.
    private var waitingFor: [String: Set<Int>] = [:]

    init(compiler: GrammarCompiler) { self.compiler = compiler }

    var isEmpty: Bool { matchers.isEmpty }

    /// `startAfter`: the grammar applies only once one of these tokens has been generated (reasoning first);
    /// empty, from the first token. Returns the grammar, which may not be ready yet.
    @discardableResult
    mutating func add(_ requestId: String, spec: StructuredOutputs, startAfter: [Int] = []) throws -> TokenGrammar {
        let grammar = try compiler.grammar(for: spec)
        matchers[requestId] = TokenMatcher(grammar)
        waitingFor[requestId] = startAfter.isEmpty ? nil : Set(startAfter)
        return grammar
    }

    mutating func remove(_ requestId: String) {
        matchers[requestId] = nil
        waitingFor[requestId] = nil
    }

    func hasMatcher(_ requestId: String) -> Bool { matchers[requestId] != nil }

    /// Advances a sequence's matcher over its new tokens; false where one leaves the grammar (the
    /// masks make that impossible; a caller treats it as a fault).
    mutating func accept(_ requestId: String, tokens: [Int]) -> Bool {
        guard var matcher = matchers[requestId] else { return true }
        var tokens = tokens[...]
        if let start = waitingFor[requestId] {
            guard let index = tokens.firstIndex(where: start.contains) else { return true }
            waitingFor[requestId] = nil
            tokens = tokens[(index + 1)...]
        }
        defer { matchers[requestId] = matcher }
        for token in tokens where !matcher.accept(tokenId: Int32(token)) { return false }
        return true
    }

    /// The next-token masks of these sequences, in order (nil for a sequence without a grammar),
    /// computed in parallel where there are several.
    func masks(for requestIds: [String]) -> [[UInt32]?] {
        let wanted = requestIds.enumerated().compactMap { index, id in
            waitingFor[id] == nil ? matchers[id].map { (index, $0) } : nil
        }
        var result = [[UInt32]?](repeating: nil, count: requestIds.count)
        if wanted.count <= 1 {
            for (index, matcher) in wanted { result[index] = matcher.nextTokenMask() }
            return result
        }
        let computed = MaskSlots(count: wanted.count)
        DispatchQueue.concurrentPerform(iterations: wanted.count) { i in computed.slots[i] = wanted[i].1.nextTokenMask() }
        for (i, (index, _)) in wanted.enumerated() { result[index] = computed.slots[i] }
        return result
    }
}

extension StructuredOutputs {
    /// The field's name in vLLM's `StructuredOutputsParams`.
    var kind: String {
        switch self {
        case .json: "json"
        case .jsonObject: "json_object"
        case .regex: "regex"
        case .choice: "choice"
        case .grammar: "grammar"
        }
    }
}

/// One slot per mask being computed; each parallel iteration writes only its own.
private final class MaskSlots: @unchecked Sendable {
    // @unchecked: `concurrentPerform` iteration i writes slot i alone, and the reads come after it returns.
    var slots: [[UInt32]]
    init(count: Int) { slots = Array(repeating: [], count: count) }
}
