import Testing
import VLLMCore

/// vLLM's tests/detokenizer/test_check_stop_strings.py and test_stop_strings.py cases.
@Suite struct StopCheckerTests {
    func check(_ text: String, _ newCount: Int, _ stop: [String], include: Bool) -> (String, String)? {
        let result = StopChecker(stop: stop, includeStopStrInOutput: include).check(
            text: text, newScalarCount: newCount)
        return result.stopString.map { ($0, result.text) }
    }

    @Test(arguments: [["a", "is"], ["is", "a"]])
    func earliestCompletingStopWinsRegardlessOfListOrder(stop: [String]) {
        // " is a" arrived in one step; "is" completes first.
        let found = check(" The user is a", 5, stop, include: false)
        #expect(found?.0 == "is" && found?.1 == " The user ")
        let included = check(" The user is a", 5, stop, include: true)
        #expect(included?.0 == "is" && included?.1 == " The user is")
    }

    @Test func completionPositionNotStartPosition() {
        let found = check("abc", 3, ["abc", "b"], include: false)
        #expect(found?.0 == "b" && found?.1 == "a")
    }

    @Test func tiesBrokenByListOrder() {
        #expect(check("ab", 2, ["ab", "b"], include: false)?.0 == "ab")
        #expect(check("ab", 2, ["b", "ab"], include: false)?.0 == "b")
    }

    @Test func singleStopAndNoMatch() {
        #expect(check("hello world.", 1, ["."], include: false)?.1 == "hello world")
        #expect(check("hello world.", 1, ["."], include: true)?.1 == "hello world.")
        #expect(check("hello", 5, ["zzz"], include: false) == nil)
        #expect(check("hello", 0, ["h"], include: false) == nil)
        #expect(check("hello", 5, [], include: false) == nil)
    }

    @Test func stopStringSpanningTokensIsFoundAndHeldBack() {
        // Tokens "Hel", "lo w", "orld": the stop string "o wo" spans the second and third.
        let checker = StopChecker(stop: ["o wo"], includeStopStrInOutput: false)
        #expect(checker.holdBackLength == 3)
        var text = ""
        var emitted: [String] = []
        for delta in ["Hel", "lo w", "orld"] {
            let result = checker.check(text: text, delta: delta)
            text = result.text
            emitted.append(result.emittableText)
            if result.stopString != nil { break }
        }
        // The last 3 scalars are always held back (vLLM's output_text_buffer_length = 4 - 1).
        #expect(emitted == ["", "Hell", "Hell"])
        #expect(text == "Hell")
    }

    @Test func includeStopStrHoldsNothingBack() {
        let checker = StopChecker(stop: ["STOP"], includeStopStrInOutput: true)
        #expect(checker.holdBackLength == 0)
        let first = checker.check(text: "", delta: "abc ST")
        #expect(first.emittableText == "abc ST" && first.stopString == nil)
        let second = checker.check(text: first.text, delta: "OP and more")
        #expect(second.stopString == "STOP" && second.text == "abc STOP")
    }

    @Test func finishedReleasesTheHeldBackText() {
        let checker = StopChecker(stop: ["<end>"], includeStopStrInOutput: false)
        #expect(checker.check(text: "", delta: "done<e").emittableText == "do")
        #expect(checker.check(text: "", delta: "done<e", isFinished: true).emittableText == "done<e")
    }

    @Test func countsUnicodeScalarsAsPythonCountsCharacters() {
        let checker = StopChecker(stop: ["é!"], includeStopStrInOutput: false)
        let result = checker.check(text: "caf", delta: "é! ok")
        #expect(result.stopString == "é!" && result.text == "caf")
        #expect(StopChecker(stop: ["👍🏽x"], includeStopStrInOutput: false).holdBackLength == 2)
    }
}
