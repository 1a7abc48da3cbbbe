import Foundation
import Testing
@testable import VLLMGrammar
import VLLMTokenizers

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
                let modulus = (1 << 61) - 1
                let checksum = [allowed.reduce(0, +), allowed.reduce(0) { ($0 + $1 * $1) % modulus }]
                #expect(allowed.count == expected.allowed, "case \(index) step \(step): \(allowed.count) allowed, xgrammar \(expected.allowed)")
                #expect(checksum == expected.checksum, "case \(index) step \(step): first \(Array(allowed.prefix(5))), xgrammar \(expected.sample)")
                guard let token = expected.token else { break }
                let accepted = matcher.accept(tokenId: Int32(token))
                #expect(accepted, "case \(index) step \(step): token \(token) refused")
                if !accepted { break }
            }
        }
    }
}
