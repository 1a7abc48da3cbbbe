import Foundation
import Testing
@testable import VLLMGrammar
import VLLMTokenizers

/// xgrammar 0.2.7 lets a string take a token that is one byte no UTF-8 character starts with (0xC0, 0xC1,
/// 0xF5–0xF7: overlong or past U+10FFFF), which then leads to invalid UTF-8; 0.2.9 refuses them, and so do
/// we (a departure, docs/structured-outputs.md). A mask matches xgrammar's when it is equal, or equal once
/// those tokens are added.
enum XGrammar027 {
    static func invalidLeadTokens(_ bytes: [[UInt8]?]) -> [Int] {
        bytes.enumerated().compactMap { id, b in b.map { $0.count == 1 && [0xC0, 0xC1, 0xF5, 0xF6, 0xF7].contains($0[0]) } == true ? id : nil }
    }

    static func matches(_ allowed: [Int], count: Int, checksum: [Int], invalidLeads: [Int]) -> Bool {
        let modulus = (1 << 61) - 1
        func sums(_ ids: [Int]) -> [Int] { [ids.reduce(0, +), ids.reduce(0) { ($0 + $1 * $1) % modulus }] }
        if allowed.count == count && sums(allowed) == checksum { return true }
        let widened = Array(Set(allowed).union(invalidLeads))
        return widened.count == count && sums(widened) == checksum
    }
}

/// Token masks over Qwen2.5's real vocabulary, step by step along a tokenized output, equal to
/// xgrammar's (scripts/make_grammar_goldens.py: count and checksum of the allowed ids at every step).
@Suite struct TokenMaskGoldenTests {
    struct Golden: Decodable {
        struct Step: Decodable { var token: Int?; var allowed: Int; var checksum: [Int]; var sample: [Int] }
        struct Case: Decodable { var text: String; var token_ids: [Int]; var steps: [Step] }
        var vocab_size: Int
        var stop_token_ids: [Int32]
        var cases: [Case]
    }

    @Test func masksEqualXGrammarsOnQwenVocabulary() throws {
        guard let folder = Paths.sharedFolder("tokenizers/qwen2.5") else { return }
        let tokenizer = try Tokenizer.load(modelDirectory: folder)
        let data = try Paths.golden("token_masks.json")
        let golden = try JSONDecoder().decode(Golden.self, from: data)
        let schemas = (try SchemaValue.parse(String(decoding: data, as: UTF8.self))["cases"]?.arrayValue ?? []).map { $0["schema"] }
        let bytes = tokenizer.tokenBytes()
        #expect(bytes.count == golden.vocab_size)
        let vocabulary = GrammarVocabulary(tokenBytes: bytes, stopTokenIds: golden.stop_token_ids, size: golden.vocab_size)
        let invalidLeads = XGrammar027.invalidLeadTokens(bytes)
        for (index, test) in golden.cases.enumerated() {
            #expect(tokenizer.encode(test.text, addSpecialTokens: false) == test.token_ids)
            let grammar: Grammar
            if let schema = schemas[index], schema != SchemaValue.null {
                grammar = try JSONSchemaGrammar.grammar(for: schema)
            } else {
                grammar = JSONSchemaGrammar.anyJSON()
            }
            var matcher = TokenMatcher(TokenGrammar(grammar: try CompiledGrammar(grammar), vocabulary: vocabulary))
            for (step, expected) in test.steps.enumerated() {
                let mask = matcher.nextTokenMask()
                let allowed = (0..<golden.vocab_size).filter { mask[$0 >> 5] & (1 << UInt32($0 & 31)) != 0 }
                #expect(XGrammar027.matches(allowed, count: expected.allowed, checksum: expected.checksum, invalidLeads: invalidLeads),
                        "case \(index) step \(step): \(allowed.count) allowed (first \(Array(allowed.prefix(5)))), xgrammar \(expected.allowed) (\(expected.sample))")
                guard let token = expected.token else { break }
                let accepted = matcher.accept(tokenId: Int32(token))
                #expect(accepted, "case \(index) step \(step): token \(token) refused")
                if !accepted { break }
            }
        }
    }
}

/// Random paths through schemas, a regex, an EBNF grammar and any JSON, on every tokenizer in ../shared:
/// at every step our mask equals xgrammar 0.2.7's (scripts/make_grammar_goldens.py drew each step's token
/// from xgrammar's mask).
@Suite struct MaskPathGoldenTests {
    struct Golden: Decodable {
        struct Step: Decodable { var token: Int; var allowed: Int; var checksum: [Int]; var sample: [Int] }
        struct Case: Decodable { var kind: String; var steps: [Step] }
        var tokenizer: String
        var vocab_size: Int
        var stop_token_ids: [Int32]
        var cases: [Case]
    }

    @Test func masksAlongRandomPathsEqualXGrammars() throws {
        let data = try Paths.golden("mask_paths.json")
        let goldens = try JSONDecoder().decode([Golden].self, from: data)
        let specs = try SchemaValue.parse(String(decoding: data, as: UTF8.self)).arrayValue ?? []
        for (t, golden) in goldens.enumerated() {
            guard let folder = Paths.sharedFolder(golden.tokenizer) else { return }
            let tokenizer = try Tokenizer.load(modelDirectory: folder)
            let bytes = tokenizer.tokenBytes()
            #expect(bytes.count == golden.vocab_size, "\(golden.tokenizer)")
            let vocabulary = GrammarVocabulary(tokenBytes: bytes, stopTokenIds: golden.stop_token_ids, size: golden.vocab_size)
            let invalidLeads = XGrammar027.invalidLeadTokens(bytes)
            for (c, test) in golden.cases.enumerated() {
                let spec = specs[t]["cases"]?.arrayValue?[c]["spec"]
                let grammar: Grammar
                switch (test.kind, spec) {
                case ("json", let schema?): grammar = try JSONSchemaGrammar.grammar(for: schema)
                case ("regex", .string(let pattern)?): grammar = try RegexGrammar.grammar(pattern)
                case ("ebnf", .string(let text)?): grammar = try EBNFParser.parse(text)
                default: grammar = JSONSchemaGrammar.anyJSON()
                }
                var matcher = TokenMatcher(TokenGrammar(grammar: try CompiledGrammar(grammar), vocabulary: vocabulary))
                for (step, expected) in test.steps.enumerated() {
                    let mask = matcher.nextTokenMask()
                    let allowed = (0..<golden.vocab_size).filter { mask[$0 >> 5] & (1 << UInt32($0 & 31)) != 0 }
                    let what = "\(golden.tokenizer) \(test.kind) #\(c) step \(step)"
                    let same = XGrammar027.matches(allowed, count: expected.allowed, checksum: expected.checksum, invalidLeads: invalidLeads)
                    #expect(same, "\(what): \(allowed.count) allowed (first \(Array(allowed.prefix(5)))), xgrammar \(expected.allowed) (\(expected.sample))")
                    if !same { break }
                    let accepted = matcher.accept(tokenId: Int32(expected.token))
                    #expect(accepted, "\(what): token \(expected.token) refused")
                    if !accepted { break }
                }
            }
        }
    }
}

/// `TokenGrammar.precomputeMasks` (what a new schema's compile does on its request's task): the states a
/// real output then meets are already cached, with the masks a grammar computing them lazily gives.
@Suite struct MaskPrecomputeTests {
    @Test func aWalkMeetsOnlyPrecomputedStates() throws {
        guard let folder = Paths.sharedFolder("models/stories260K") else { return }
        let tokenizer = try Tokenizer.load(modelDirectory: folder)
        let vocabulary = GrammarVocabulary(tokenBytes: tokenizer.tokenBytes(), stopTokenIds: [2])
        let schema = #"{"type": "object", "required": ["title", "content"], "properties": {"title": {"type": "string"}, "#
            + #""content": {"type": "string"}, "lines": {"type": "integer", "minimum": 1, "maximum": 40}}}"#
        func compiled() throws -> TokenGrammar {
            TokenGrammar(grammar: try CompiledGrammar(JSONSchemaGrammar.grammar(forSchema: schema)), vocabulary: vocabulary)
        }
        let grammar = try compiled()
        let computed = grammar.precomputeMasks(limit: 4000, budget: 120)
        #expect(computed > 20 && computed < 4000 && grammar.cachedStates == computed)
        var ahead = TokenMatcher(grammar)
        var lazy = TokenMatcher(try compiled())
        let text = #"{"title": "Tim and the sun", "content": "Once upon a time, Tim saw a big dog.", "lines": 12}"#
        // (SentencePiece puts a space before the text, which the schema does not allow.)
        let tokens = tokenizer.encode(text, addSpecialTokens: false).map(Int32.init).drop { tokenizer.decode([Int($0)]).allSatisfy(\.isWhitespace) }
        #expect(tokens.count > 40)
        for token in tokens {
            #expect(ahead.nextTokenMask() == lazy.nextTokenMask())
            #expect(ahead.accept(tokenId: token) && lazy.accept(tokenId: token))
        }
        #expect(grammar.cachedStates == computed, "the walk met a state the precomputation had not reached")
    }
}
