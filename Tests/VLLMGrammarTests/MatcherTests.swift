import Testing
@testable import VLLMGrammar

@Suite struct MatcherTests {
    @Test func ebnfBasics() throws {
        let grammar = try CompiledGrammar(ebnf: #"""
            root ::= "a" ([b-d]+ | "x"?) tail{2,3}   # a comment
            tail ::= [^a-z\n]
            """#)
        let matcher = GrammarMatcher(grammar)
        #expect(matcher.matchesCompletely("abb12"))
        #expect(matcher.matchesCompletely("ax12"))
        #expect(matcher.matchesCompletely("a123"))
        #expect(matcher.matchesCompletely("a1é3"))
        #expect(!matcher.matchesCompletely("a1"))
        #expect(!matcher.matchesCompletely("a1234"))
        #expect(!matcher.matchesCompletely("ab1z"))
    }

    @Test func leftRecursionIsRefused() {
        #expect(throws: GrammarError.self) { try CompiledGrammar(ebnf: #"root ::= root "a" | "b""#) }
        #expect(throws: GrammarError.self) { try CompiledGrammar(ebnf: #"root ::= x"#) }
        #expect(throws: GrammarError.self) { try CompiledGrammar(ebnf: #"start ::= "a""#) }
    }

    @Test func masksFollowTheGrammar() throws {
        let grammar = try CompiledGrammar(ebnf: #"root ::= "ab" [0-9]+ "é""#)
        let tokens: [[UInt8]?] = [Array("a".utf8), Array("ab".utf8), Array("b1".utf8), Array("12".utf8), Array("x".utf8),
                                  nil, [0xC3], [0xA9], Array("9é".utf8)]
        let vocabulary = GrammarVocabulary(tokenBytes: tokens, stopTokenIds: [5], size: 40)
        var matcher = TokenMatcher(TokenGrammar(grammar: grammar, vocabulary: vocabulary))
        func allowed(_ mask: [UInt32]) -> [Int] { (0..<40).filter { mask[$0 / 32] & (1 << UInt32($0 % 32)) != 0 } }
        #expect(allowed(matcher.nextTokenMask()) == [0, 1])
        #expect((matcher.accept(tokenId: 0) as Bool))
        #expect(allowed(matcher.nextTokenMask()) == [2])
        #expect((matcher.accept(tokenId: 2) as Bool))
        #expect(allowed(matcher.nextTokenMask()) == [3, 6, 8])
        #expect((matcher.accept(tokenId: 6) as Bool))
        #expect(allowed(matcher.nextTokenMask()) == [7])
        #expect(!(matcher.accept(tokenId: 5) as Bool))
        #expect((matcher.accept(tokenId: 7) as Bool))
        #expect(allowed(matcher.nextTokenMask()) == [5])
        #expect(matcher.isTerminated)
    }
}
