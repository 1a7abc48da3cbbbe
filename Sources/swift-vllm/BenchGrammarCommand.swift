import ArgumentParser
import Dispatch
import Foundation
import VLLMGrammar
import VLLMTokenizers

extension BenchCommand {
    /// The grammar engine alone, on a real vocabulary: what a new schema costs before its first token, and
    /// what the masks of one step cost at a batch size (docs/structured-outputs.md).
    struct Grammar: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Structured outputs' host cost: vocabulary, schema compile, masks per step (cold and cached) at a batch size.")
        @Option(help: "Folder with tokenizer.json.") var tokenizer: String
        @Option(help: "JSON Schema file.") var schema = "benchmarks/schemas/poem.json"
        @Option(help: "A JSON text the schema accepts, walked token by token (default: a Poem with --content-words words).")
        var text: String?
        @Option(name: .customLong("content-words")) var contentWords = 40
        @Option(help: "Sequences stepping together in the cached pass.") var batch = 256

        func run() throws {
            func seconds(_ body: () throws -> Void) rethrows -> Double {
                let start = DispatchTime.now().uptimeNanoseconds
                try body()
                return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            }
            let tok = try Tokenizer.load(modelDirectory: URL(fileURLWithPath: tokenizer))
            var vocabulary: GrammarVocabulary!
            let vocabularySeconds = seconds { vocabulary = GrammarVocabulary(tokenBytes: tok.tokenBytes(),
                                                                             stopTokenIds: tok.eosTokenId.map { [Int32($0)] } ?? []) }
            let schemaText = try String(contentsOfFile: schema, encoding: .utf8)
            var grammar: TokenGrammar!
            let compileSeconds = try seconds {
                grammar = TokenGrammar(grammar: try CompiledGrammar(JSONSchemaGrammar.grammar(forSchema: schemaText)),
                                       vocabulary: vocabulary)
            }
            // What GrammarCompiler does next on the request's task: the first states' masks, ahead of its steps.
            var precomputed = 0
            let precomputeSeconds = seconds { precomputed = grammar.precomputeMasks() }
            let words = (0..<contentWords).map { ["sea", "waves", "salt", "light", "blue,", "deep", "\\\"calm\\\"", "é"][$0 % 8] }
            let instance = text ?? #"{"title": "The Sea", "content": "\#(words.joined(separator: " "))"}"#
            let tokens = tok.encode(instance, addSpecialTokens: false).map(Int32.init)
            // Cold: one sequence, every state's mask not precomputed computed the first time it is met.
            var cold: [Double] = []
            var matcher = TokenMatcher(grammar)
            for token in tokens {
                cold.append(seconds { _ = matcher.nextTokenMask() })
                guard matcher.accept(tokenId: token) else { throw ValidationError("the text leaves the schema at token \(token)") }
            }
            // Cached: `batch` sequences stepping together, masks computed in parallel as the engine does.
            var matchers = Array(repeating: TokenMatcher(grammar), count: batch)
            var warm: [Double] = []
            for token in tokens {
                let box = Box(matchers)
                warm.append(seconds {
                    DispatchQueue.concurrentPerform(iterations: batch) { box.masks[$0] = box.matchers[$0].nextTokenMask() }
                })
                for i in matchers.indices { _ = matchers[i].accept(tokenId: token) }
            }
            BenchCommand.printJSON([
                "vocabulary": tok.vocabSize, "tokens_walked": tokens.count, "batch": batch,
                "vocabulary_ms": vocabularySeconds * 1000, "compile_ms": compileSeconds * 1000,
                "precompute_ms": precomputeSeconds * 1000, "states_precomputed": precomputed,
                "cold_total_ms": cold.reduce(0, +) * 1000, "cold_max_ms": (cold.max() ?? 0) * 1000,
                "states_cached": grammar.cachedStates,
                "cached_step_ms_mean": warm.reduce(0, +) / Double(max(warm.count, 1)) * 1000,
                "cached_step_ms_max": (warm.max() ?? 0) * 1000,
            ])
        }
    }
}

private final class Box: @unchecked Sendable {
    // @unchecked: iteration i of concurrentPerform touches index i only.
    let matchers: [TokenMatcher]
    var masks: [[UInt32]]
    init(_ matchers: [TokenMatcher]) {
        self.matchers = matchers
        masks = Array(repeating: [], count: matchers.count)
    }
}
