import Foundation
import Testing
import VLLMTokenizers
@testable import VLLMBench

/// Prompt building and dataset reading against vLLM 0.26.0's own rules run with transformers' tokenizers
/// (scripts/make_bench_goldens.py).
struct DatasetTests {
    static func tokenizer(_ name: String) throws -> BenchTokenizer? {
        guard let folder = Paths.sharedFolder("tokenizers/\(name)") else { return nil }
        return try BenchTokenizer(directory: folder)
    }

    @Test func promptsFitTheirLengthAsVLLMs() throws {
        let golden = try Paths.golden("fit.json")
        let cases = try #require(golden["cases"] as? [[String: Any]])
        var tokenizers: [String: BenchTokenizer] = [:]
        for item in cases {
            let name = item["tokenizer"] as! String
            if tokenizers[name] == nil { tokenizers[name] = try Self.tokenizer(name) }
            guard let tokenizer = tokenizers[name] else { return }
            var random = BenchRandom(seed: 0)
            let fitted = BenchDataset.fitToLength(
                item["ids"] as! [Int], target: item["target"] as! Int, tokenizer: tokenizer, random: &random)
            let ids = item["ids"] as! [Int]
            #expect(fitted.text == item["prompt"] as! String, "\(name) \(ids)")
            #expect(fitted.ids == item["adjusted"] as! [Int], "\(name)")
        }
    }

    @Test func shareGPTKeepsWhatVLLMKeeps() throws {
        guard let tokenizer = try Self.tokenizer("gpt2") else { return }
        let golden = try Paths.golden("sharegpt.json")
        let expected = try #require(golden["expected"] as? [String: [[String: Any]]])
        let path = Paths.goldens.appendingPathComponent("sharegpt_sample.json").path
        for (key, outputLen) in [("none", nil), ("64", 64)] as [(String, Int?)] {
            let requests = try BenchDataset.sharegpt(path: path, outputLen: outputLen).sample(
                count: 1000, tokenizer: tokenizer, seed: 0, requestIdPrefix: "r-", shuffle: false, oversample: false)
            let wanted = try #require(expected[key])
            #expect(requests.map(\.prompt) == wanted.map { $0["prompt"] as! String }, "\(key)")
            #expect(requests.map(\.promptLen) == wanted.map { $0["prompt_len"] as! Int }, "\(key)")
            #expect(requests.map(\.expectedOutputLen) == wanted.map { $0["output_len"] as! Int }, "\(key)")
            #expect(requests.map(\.requestId) == (0..<wanted.count).map { "r-\($0)" })
        }
        // Oversampling fills up to the count with copies under new ids; shuffling keeps the same set.
        let filled = try BenchDataset.sharegpt(path: path, outputLen: 64).sample(count: 40, tokenizer: tokenizer, seed: 3)
        #expect(filled.count == 40)
        #expect(Set(filled.map(\.requestId)).count == 40)
        #expect(Set(filled.map(\.prompt)) == Set(expected["64"]!.map { $0["prompt"] as! String }))
    }

    @Test func randomPromptsHaveTheirLengthsAndRepeatWithTheSeed() throws {
        guard let tokenizer = try Self.tokenizer("gpt2") else { return }
        let dataset = BenchDataset.random(inputLen: 100, outputLen: 20, inputRangeRatio: 0.5, outputRangeRatio: 0.25, prefixLen: 16)
        let requests = try dataset.sample(count: 40, tokenizer: tokenizer, seed: 5)
        #expect(requests.count == 40)
        for request in requests {
            #expect(tokenizer.encode(request.prompt, addSpecialTokens: false).count == request.promptLen)
            #expect((16 + 50)...(16 + 150) ~= request.promptLen)
            #expect((15...25).contains(request.expectedOutputLen))
        }
        // The shared prefix: every prompt starts with the same tokens (the first 12 of the 16: re-encoding a prompt may
        // merge its prefix's last tokens with what follows).
        let prefixes = Set(requests.map { Array(tokenizer.encode($0.prompt, addSpecialTokens: false).prefix(12)) })
        #expect(prefixes.count == 1)
        #expect(try dataset.sample(count: 40, tokenizer: tokenizer, seed: 5) == requests)
        #expect(try dataset.sample(count: 40, tokenizer: tokenizer, seed: 6) != requests)
        #expect(Set(requests.map(\.expectedOutputLen)).count > 3)
    }

    @Test func badRandomSettingsAreRefused() throws {
        guard let tokenizer = try Self.tokenizer("gpt2") else { return }
        #expect(throws: BenchError.self) {
            try BenchDataset.random(inputLen: 10, outputLen: 5, inputRangeRatio: 1.0, outputRangeRatio: 0, prefixLen: 0)
                .sample(count: 2, tokenizer: tokenizer, seed: 0)
        }
        #expect(throws: BenchError.self) {
            try BenchDataset.random(inputLen: 0, outputLen: 5, inputRangeRatio: 0, outputRangeRatio: 0, prefixLen: 0)
                .sample(count: 2, tokenizer: tokenizer, seed: 0)
        }
        #expect(try BenchDataset.parseRangeRatio("0.25") == (0.25, 0.25))
        #expect(try BenchDataset.parseRangeRatio("{\"input\": 0.1, \"output\": 0.5}") == (0.1, 0.5))
        #expect(throws: BenchError.self) { try BenchDataset.parseRangeRatio("wide") }
    }

    @Test func customDatasetsRenderTheChatTemplateAndNameBadLines() throws {
        guard let tokenizer = try Self.tokenizer("qwen2.5") else { return }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bench-custom-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        func file(_ name: String, _ text: String) throws -> String {
            let url = folder.appendingPathComponent(name)
            try Data(text.utf8).write(to: url)
            return url.path
        }
        let good = try file("good.jsonl", """
            {"prompt": "What is the capital of India?", "output_tokens": 10}
            {"prompt": "What is the capital of Iran?", "output_tokens": "15"}

            {"prompt": "What is the capital of China?", "output_tokens": 7}
            """)
        let rendered = try BenchDataset.custom(path: good, outputLen: -1, skipChatTemplate: false)
            .sample(count: 0, tokenizer: tokenizer, seed: 0, shuffle: false)
        #expect(rendered.map(\.expectedOutputLen) == [10, 15, 7])
        #expect(rendered[0].prompt.hasSuffix("<|im_start|>user\nWhat is the capital of India?<|im_end|>\n<|im_start|>assistant\n"))
        #expect(rendered[0].promptLen == tokenizer.encode(rendered[0].prompt).count)
        let plain = try BenchDataset.custom(path: good, outputLen: 32, skipChatTemplate: true)
            .sample(count: 2, tokenizer: tokenizer, seed: 0, shuffle: false, oversample: false)
        #expect(plain.map(\.prompt) == ["What is the capital of India?", "What is the capital of Iran?"])
        #expect(plain.map(\.expectedOutputLen) == [32, 32])

        func refusal(_ dataset: BenchDataset) -> String {
            do {
                _ = try dataset.sample(count: 0, tokenizer: tokenizer, seed: 0)
                return "accepted"
            } catch { return "\(error)" }
        }
        let noPrompt = try file("noprompt.jsonl", "{\"prompt\": \"a\"}\n{\"text\": \"b\"}\n")
        #expect(refusal(.custom(path: noPrompt, outputLen: 8, skipChatTemplate: true)) == "\(noPrompt):2: every line needs a string \"prompt\"")
        let notJSON = try file("broken.jsonl", "{\"prompt\": \"a\"}\n{\"prompt\": \n")
        #expect(refusal(.custom(path: notJSON, outputLen: 8, skipChatTemplate: true)) == "\(notJSON):2: not a JSON object")
        #expect(refusal(.custom(path: noPrompt.replacingOccurrences(of: ".jsonl", with: ".csv"), outputLen: 8, skipChatTemplate: true))
            .contains("must be a .jsonl file"))
        let noLength = try file("nolength.jsonl", "{\"prompt\": \"a\", \"output_tokens\": 3}\n{\"prompt\": \"b\"}\n")
        #expect(refusal(.custom(path: noLength, outputLen: -1, skipChatTemplate: true))
            == "\(noLength):2: with --custom-output-len -1 every line needs \"output_tokens\"")
        #expect(refusal(.sharegpt(path: good, outputLen: nil)).contains("is not a ShareGPT file"))
        #expect(refusal(.sharegpt(path: folder.appendingPathComponent("absent.json").path, outputLen: nil)).contains("cannot read"))
    }
}
