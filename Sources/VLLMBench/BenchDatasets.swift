import Foundation
import VLLMTemplates
import VLLMTokenizers

/// What went wrong before a run could start: a bad option or a dataset that cannot be read, naming which.
public enum BenchError: Error, CustomStringConvertible, Equatable {
    case invalidOption(String)
    case dataset(String)
    case server(String)

    public var description: String {
        switch self {
        case .invalidOption(let message), .dataset(let message), .server(let message): message
        }
    }
}

/// A JSONL dataset's objects with their line numbers (blank lines skipped); a file that cannot be read, or a line that
/// is not a JSON object, is an error naming it (`what`: "the custom dataset", …).
func readJSONLines(_ path: String, what: String) throws -> [(line: Int, object: [String: Any])] {
    let text: String
    do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
        throw BenchError.dataset("cannot read \(what) \(path): \(error.localizedDescription)")
    }
    var objects: [(line: Int, object: [String: Any])] = []
    for (offset, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        guard !raw.trimmingCharacters(in: .whitespaces).isEmpty else { continue }
        guard let object = (try? JSONSerialization.jsonObject(with: Data(raw.utf8))) as? [String: Any] else {
            throw BenchError.dataset("\(path):\(offset + 1): not a JSON object")
        }
        objects.append((offset + 1, object))
    }
    return objects
}

/// One request of a run: what is sent, how many tokens it holds, how many it asks for.
public struct SampleRequest: Sendable, Equatable {
    public var prompt: String
    /// Prompt tokens by the benchmark's tokenizer (the server's `usage.prompt_tokens` replaces it when given).
    public var promptLen: Int
    public var expectedOutputLen: Int
    public var requestId: String

    public init(prompt: String, promptLen: Int, expectedOutputLen: Int, requestId: String) {
        self.prompt = prompt
        self.promptLen = promptLen
        self.expectedOutputLen = expectedOutputLen
        self.requestId = requestId
    }
}

/// The tokenizer a benchmark counts and builds prompts with: HF `tokenizers`' behaviour through this project's
/// tokenizer code, and the model's chat template for datasets that render prompts on the client.
public struct BenchTokenizer: Sendable {
    public let tokenizer: Tokenizer
    let chatTemplate: ChatTemplate?

    public init(tokenizer: Tokenizer, chatTemplate: ChatTemplate? = nil) {
        self.tokenizer = tokenizer
        self.chatTemplate = chatTemplate
    }

    /// A model (or tokenizer) folder: tokenizer.json, and the chat template where the folder has one.
    public init(directory: URL) throws {
        do {
            tokenizer = try Tokenizer.load(modelDirectory: directory)
        } catch {
            throw BenchError.invalidOption("cannot load the tokenizer of \(directory.path): \(error)")
        }
        chatTemplate = try? ChatTemplate.load(modelDirectory: directory)
    }

    /// transformers' `tokenizer(text).input_ids` (special tokens added) or `encode(text, add_special_tokens=False)`.
    public func encode(_ text: String, addSpecialTokens: Bool = true) -> [Int] {
        tokenizer.encode(text, addSpecialTokens: addSpecialTokens)
    }

    /// transformers' `decode(ids)`: special tokens kept.
    public func decode(_ ids: [Int]) -> String { tokenizer.decode(ids, skipSpecialTokens: false) }

    public var vocabSize: Int { tokenizer.vocabSize }

    /// transformers' `num_special_tokens_to_add()`: what encoding adds around one sequence.
    public var numSpecialTokensToAdd: Int { tokenizer.encode("", addSpecialTokens: true).count }

    /// `apply_chat_template([{"role": "user", "content": text}], add_generation_prompt=True, tokenize=False)`.
    public func chatPrompt(user text: String) throws -> String {
        guard let chatTemplate else {
            throw BenchError.dataset(
                "the custom dataset renders prompts with the model's chat template, and the tokenizer has none; "
                    + "pass --skip-chat-template to send the prompts as they are")
        }
        let message = TemplateValue.dict([(key: "role", value: .string("user")), (key: "content", value: .string(text))])
        return try chatTemplate.render(messages: [message], addGenerationPrompt: true)
    }
}

/// The datasets of vLLM's `bench serve` this project reads: `random` (synthetic token prompts of chosen lengths),
/// `sharegpt` (a ShareGPT JSON file's first turns) and `custom` (a JSONL file of prompts).
public enum BenchDataset: Sendable {
    /// `--random-input-len`, `--random-output-len`, `--random-range-ratio` (one ratio, or one for input and one for
    /// output), `--random-prefix-len`.
    case random(inputLen: Int, outputLen: Int, inputRangeRatio: Double, outputRangeRatio: Double, prefixLen: Int)
    /// `--sharegpt-output-len` replaces each conversation's answer length when given.
    case sharegpt(path: String, outputLen: Int?)
    /// `--custom-output-len` (-1: each line's `output_tokens`); `--skip-chat-template` sends prompts unrendered.
    case custom(path: String, outputLen: Int, skipChatTemplate: Bool)

    /// vLLM's `--random-range-ratio`: a number, or `{"input": a, "output": b}`.
    public static func parseRangeRatio(_ text: String) throws -> (input: Double, output: Double) {
        if let value = Double(text) { return (value, value) }
        if let data = text.data(using: .utf8),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let input = (object["input"] as? NSNumber)?.doubleValue, let output = (object["output"] as? NSNumber)?.doubleValue
        {
            return (input, output)
        }
        throw BenchError.invalidOption(
            "--random-range-ratio '\(text)' is neither a number nor {\"input\": number, \"output\": number}")
    }

    /// `num` requests (custom: `num` ≤ 0 takes every line), ids `prefix` + index; `shuffle` false keeps the file's
    /// order (`--disable-shuffle`), `oversample` false keeps a dataset with fewer usable entries short
    /// (`--no-oversample`).
    public func sample(
        count num: Int, tokenizer: BenchTokenizer, seed: UInt64, requestIdPrefix: String = "", shuffle: Bool = true,
        oversample: Bool = true
    ) throws -> [SampleRequest] {
        var random = BenchRandom(seed: seed)
        var requests: [SampleRequest]
        switch self {
        case .random(let inputLen, let outputLen, let inputRatio, let outputRatio, let prefixLen):
            return try Self.random(
                count: num, inputLen: inputLen, outputLen: outputLen, ratios: (inputRatio, outputRatio), prefixLen: prefixLen,
                tokenizer: tokenizer, random: &random, requestIdPrefix: requestIdPrefix)
        case .sharegpt(let path, let outputLen):
            requests = try Self.sharegpt(
                path: path, count: num, outputLen: outputLen, tokenizer: tokenizer, random: &random, shuffle: shuffle,
                requestIdPrefix: requestIdPrefix)
        case .custom(let path, let outputLen, let skipChatTemplate):
            requests = try Self.custom(
                path: path, count: num, outputLen: outputLen, skipChatTemplate: skipChatTemplate, tokenizer: tokenizer,
                random: &random, shuffle: shuffle, requestIdPrefix: requestIdPrefix)
        }
        guard !requests.isEmpty else {
            throw BenchError.dataset("the dataset gave no usable requests (every entry was filtered out)")
        }
        if oversample && requests.count < num {
            let have = requests.count
            for i in 0..<(num - have) {
                var copy = requests[random.int(in: 0...(have - 1))]
                copy.requestId = requestIdPrefix + String(have + i)
                requests.append(copy)
            }
        }
        return requests
    }

    // MARK: random

    static func random(
        count: Int, inputLen: Int, outputLen: Int, ratios: (input: Double, output: Double), prefixLen: Int,
        tokenizer: BenchTokenizer, random: inout BenchRandom, requestIdPrefix: String
    ) throws -> [SampleRequest] {
        for (name, ratio) in [("input", ratios.input), ("output", ratios.output)] where !(0 <= ratio && ratio < 1) {
            throw BenchError.invalidOption("--random-range-ratio: the \(name) ratio must be in [0, 1), got \(ratio)")
        }
        guard prefixLen >= 0, inputLen >= 0, outputLen >= 0 else {
            throw BenchError.invalidOption("--random-input-len, --random-output-len and --random-prefix-len must not be negative")
        }
        let numSpecial = tokenizer.numSpecialTokensToAdd
        let realInputLen = max(0, inputLen - numSpecial)
        let inputLow = Int((Double(realInputLen) * (1 - ratios.input)).rounded(.down))
        let inputHigh = Int((Double(realInputLen) * (1 + ratios.input)).rounded(.up))
        let outputLow = max(Int((Double(outputLen) * (1 - ratios.output)).rounded(.down)), 1)
        let outputHigh = max(Int((Double(outputLen) * (1 + ratios.output)).rounded(.up)), 1)
        guard prefixLen + inputLow >= 1 else {
            throw BenchError.invalidOption(
                "--random-input-len is too small: with \(numSpecial) special token(s) and input range ratio \(ratios.input), "
                    + "the shortest prompt would have \(prefixLen + inputLow) tokens")
        }
        let inputLens = (0..<count).map { _ in random.int(in: inputLow...inputHigh) }
        let outputLens = (0..<count).map { _ in random.int(in: outputLow...outputHigh) }
        let vocabSize = tokenizer.vocabSize
        let offsets = (0..<count).map { _ in random.int(in: 0...(vocabSize - 1)) }
        let special = tokenizer.tokenizer.allSpecialIds
        let allowed = (0..<vocabSize).filter { !special.contains($0) && tokenizer.tokenizer.idToToken($0) != nil }
        guard !allowed.isEmpty else { throw BenchError.invalidOption("the tokenizer has no ordinary tokens to build prompts from") }

        var prefix: [Int] = []
        if prefixLen > 0 {
            let drawn = (0..<prefixLen).map { _ in allowed[random.int(in: 0...(allowed.count - 1))] }
            prefix = Self.fitToLength(drawn, target: prefixLen, tokenizer: tokenizer, random: &random).ids
        }
        return (0..<count).map { i in
            let inner = (0..<inputLens[i]).map { allowed[(offsets[i] + i + $0) % allowed.count] }
            let fitted = Self.fitToLength(prefix + inner, target: prefixLen + inputLens[i], tokenizer: tokenizer, random: &random)
            return SampleRequest(
                prompt: fitted.text, promptLen: fitted.ids.count, expectedOutputLen: outputLens[i],
                requestId: requestIdPrefix + String(i))
        }
    }

    /// vLLM's `gen_prompt_decode_to_target_len`: decode the ids to text and encode it again until the text's token
    /// count is the target (a decoded sequence need not encode back to the same ids: GPT-2's [6880, 6881] "calls"
    /// "here" encodes as "call" "sh" "ere"), padding with random ids or truncating, ten tries at most.
    static func fitToLength(_ start: [Int], target: Int, tokenizer: BenchTokenizer, random: inout BenchRandom)
        -> (text: String, ids: [Int])
    {
        var ids = start
        var triesLeft = 10
        while true {
            let text = tokenizer.decode(ids)
            ids = tokenizer.encode(text, addSpecialTokens: false)
            if triesLeft <= 0 || ids.count == target { return (text, ids) }
            if ids.count < target {
                ids += (0..<(target - ids.count)).map { _ in random.int(in: 0...(tokenizer.vocabSize - 1)) }
            } else {
                ids.removeLast(ids.count - target)
            }
            triesLeft -= 1
        }
    }

    // MARK: files

    static func sharegpt(
        path: String, count: Int, outputLen: Int?, tokenizer: BenchTokenizer, random: inout BenchRandom, shuffle: Bool,
        requestIdPrefix: String
    ) throws -> [SampleRequest] {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw BenchError.dataset("cannot read the ShareGPT file \(path): \(error.localizedDescription)")
        }
        guard let entries = (try? JSONSerialization.jsonObject(with: data)) as? [Any] else {
            throw BenchError.dataset("\(path) is not a ShareGPT file: expected a JSON array of {\"conversations\": [...]}")
        }
        // Entries with at least two turns, as vLLM keeps them; the first is the prompt, the second its answer.
        var pairs: [(prompt: String, answer: String)] = []
        for (index, entry) in entries.enumerated() {
            guard let turns = (entry as? [String: Any])?["conversations"] as? [Any], turns.count >= 2 else { continue }
            guard let prompt = (turns[0] as? [String: Any])?["value"] as? String,
                let answer = (turns[1] as? [String: Any])?["value"] as? String
            else {
                throw BenchError.dataset("\(path): entry \(index): the first two turns need a string \"value\"")
            }
            pairs.append((prompt, answer))
        }
        if shuffle { random.shuffle(&pairs) }
        var requests: [SampleRequest] = []
        for pair in pairs where requests.count < count {
            let promptLen = tokenizer.encode(pair.prompt).count
            let answerLen = outputLen ?? tokenizer.encode(pair.answer).count
            // vLLM's `is_valid_sequence`: 4…1024 prompt tokens, at least 4 answer tokens (unless the length is given),
            // at most 2048 together.
            if promptLen < 4 || (outputLen == nil && answerLen < 4) || promptLen > 1024 || promptLen + answerLen > 2048 {
                continue
            }
            requests.append(
                SampleRequest(
                    prompt: pair.prompt, promptLen: promptLen, expectedOutputLen: answerLen,
                    requestId: requestIdPrefix + String(requests.count)))
        }
        return requests
    }

    static func custom(
        path: String, count: Int, outputLen: Int, skipChatTemplate: Bool, tokenizer: BenchTokenizer, random: inout BenchRandom,
        shuffle: Bool, requestIdPrefix: String
    ) throws -> [SampleRequest] {
        guard path.hasSuffix(".jsonl") else {
            throw BenchError.dataset("the custom dataset must be a .jsonl file (one {\"prompt\": ...} per line), got \(path)")
        }
        var items: [(prompt: String, outputTokens: Any?, line: Int)] = []
        for (line, object) in try readJSONLines(path, what: "the custom dataset") {
            guard let prompt = object["prompt"] as? String else {
                throw BenchError.dataset("\(path):\(line): every line needs a string \"prompt\"")
            }
            items.append((prompt, object["output_tokens"], line))
        }
        if shuffle { random.shuffle(&items) }
        let wanted = count <= 0 ? items.count : count
        return try items.prefix(wanted).enumerated().map { index, item in
            var length = outputLen
            if outputLen == -1 {
                guard let value = item.outputTokens else {
                    throw BenchError.dataset(
                        "\(path):\(item.line): with --custom-output-len -1 every line needs \"output_tokens\"")
                }
                // vLLM takes `int(output_tokens)`: numbers and numeric strings.
                let parsed = (value as? NSNumber)?.intValue ?? (value as? String).flatMap { Int($0) }
                guard let parsed, parsed > 0 else {
                    throw BenchError.dataset("\(path):\(item.line): \"output_tokens\" must be a positive integer, got \(value)")
                }
                length = parsed
            }
            let prompt = skipChatTemplate ? item.prompt : try tokenizer.chatPrompt(user: item.prompt)
            return SampleRequest(
                prompt: prompt, promptLen: tokenizer.encode(prompt).count, expectedOutputLen: length,
                requestId: requestIdPrefix + String(index))
        }
    }
}
