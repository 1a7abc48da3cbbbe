import Testing
import VLLMCore

/// Defaults and error messages as vLLM's `SamplingParams` (vllm/sampling_params.py) has them.
@Suite struct SamplingParamsTests {
    @Test func defaultsAreVLLMs() throws {
        let p = SamplingParams()
        #expect(p.n == 1 && p.temperature == 1 && p.topP == 1 && p.topK == nil && p.minP == 0)
        #expect(p.presencePenalty == 0 && p.frequencyPenalty == 0 && p.repetitionPenalty == 1)
        #expect(p.maxTokens == 16 && p.minTokens == 0 && p.seed == nil && p.logprobs == nil)
        #expect(p.detokenize && p.skipSpecialTokens && p.spacesBetweenSpecialTokens && !p.includeStopStrInOutput)
        try p.validate()
        #expect(SamplingParams.topK(fromVLLM: 0) == nil && SamplingParams.topK(fromVLLM: -1) == nil)
        #expect(SamplingParams.topK(fromVLLM: 5) == 5)
    }

    static let invalid: [(String, @Sendable (inout SamplingParams) -> Void)] = [
        ("n must be at least 1, got 0.", { $0.n = 0 }),
        ("presence_penalty must be in [-2, 2], got 2.5.", { $0.presencePenalty = 2.5 }),
        ("frequency_penalty must be in [-2, 2], got -3.0.", { $0.frequencyPenalty = -3 }),
        ("repetition_penalty must be greater than zero, got 0.0.", { $0.repetitionPenalty = 0 }),
        ("repetition_penalty must be a finite number, got inf.", { $0.repetitionPenalty = .infinity }),
        ("temperature must be non-negative, got -0.5.", { $0.temperature = -0.5 }),
        ("temperature must be in [0, 2], got 2.5.", { $0.temperature = 2.5 }),
        ("top_p must be in (0, 1], got 0.0.", { $0.topP = 0 }),
        ("top_p must be in (0, 1], got 1.5.", { $0.topP = 1.5 }),
        ("top_k must be 0 (disable), or at least 1, got -2.", { $0.topK = SamplingParams.topK(fromVLLM: -2) }),
        ("min_p must be in [0, 1], got 1.5.", { $0.minP = 1.5 }),
        ("max_tokens must be at least 1, got 0.", { $0.maxTokens = 0 }),
        ("min_tokens must be greater than or equal to 0, got -1.", { $0.minTokens = -1 }),
        ("min_tokens must be less than or equal to max_tokens=16, got 17.", { $0.minTokens = 17 }),
        ("logprobs must be non-negative or -1, got -2.", { $0.logprobs = -2 }),
        ("prompt_logprobs must be non-negative or -1, got -5.", { $0.promptLogprobs = -5 }),
        ("stop cannot contain an empty string.", { $0.stop = ["a", ""] }),
        (
            "stop strings are only supported when detokenize is True. Set detokenize=True to use stop.",
            {
                $0.stop = ["a"]
                $0.detokenize = false
            }
        ),
        ("bad_words cannot contain an empty string. Got bad_words=['x', '']", { $0.badWords = ["x", ""] }),
        (
            "n must be 1 when using greedy sampling, got 2.",
            {
                $0.n = 2
                $0.temperature = 0
            }
        ),
    ]

    @Test(arguments: 0..<invalid.count)
    func invalidValuesAreWordedAsVLLMWordsThem(index: Int) {
        let (message, change) = Self.invalid[index]
        var p = SamplingParams()
        change(&p)
        #expect(throws: VLLMValidationError.self) { try p.validate() }
        do { try p.validate() } catch { #expect(error.message == message) }
    }

    @Test func vocabularyChecks() {
        var p = SamplingParams()
        p.stopTokenIds = [3, 200]
        do { try p.validate(vocabSize: 100) } catch {
            #expect(
                error.message
                    == "token_id(s) [200] in stop_token_ids contain out-of-vocab token ids. Vocabulary size: 100")
        }
        p = SamplingParams()
        p.logprobs = 21
        do { try p.validate(vocabSize: 100) } catch {
            #expect(error.message == "Requested sample logprobs of 21, which is greater than max allowed: 20")
        }
        p = SamplingParams()
        p.allowedTokenIds = []
        do { try p.validate(vocabSize: 100) } catch {
            #expect(error.message == "allowed_token_ids is not None and empty!")
        }
        p.allowedTokenIds = [1, 2]
        #expect(throws: Never.self) { try p.validate(vocabSize: 100) }
        // A long list of bad ids is cut to its first 20 (100,000 of them made a 686 KB message).
        p = SamplingParams()
        p.logitBias = Dictionary(uniqueKeysWithValues: (0..<30).map { (100 + $0, Float(1)) })
        do { try p.validate(vocabSize: 100) } catch {
            #expect(error.message == "token_id(s) [100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, "
                    + "115, 116, 117, 118, 119, … (30 in all)] in logit_bias contain out-of-vocab token ids. Vocabulary size: 100")
        }
    }

    @Test func derivedValues() {
        var p = SamplingParams()
        p.stop = ["ab", "abcd"]
        #expect(p.outputTextBufferLength == 3)
        p.includeStopStrInOutput = true
        #expect(p.outputTextBufferLength == 0)
        p.temperature = 0.001
        #expect(p.effectiveTemperature == 0.01)
        p.temperature = 0
        #expect(p.effectiveTemperature == 0 && p.isGreedy)
        p.logitBias = [1: 250, 2: -300, 3: 5]
        #expect(p.clampedLogitBias == [1: 100, 2: -100, 3: 5])
    }
}
