import ArgumentParser
import Foundation
import VLLMTokenizers

/// `swift-vllm tokenize --model DIR`: a JSON-lines filter over a model folder's tokenizer, one output line
/// per input line. `{"text": ..., "add_special_tokens": true}` → `{"ids": [...]}`;
/// `{"ids": [...], "skip_special_tokens": false}` → `{"text": ...}`; anything wrong → `{"error": ...}`.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Encode or decode JSON lines from stdin with a model folder's tokenizer.",
        discussion: """
            Input lines: {"text": "...", "add_special_tokens": true} or {"ids": [1, 2], "skip_special_tokens": true}.
            With --benchmark FILE, encodes the file's text instead and reports MB/s (single thread); a file
            holding U+001E (record separator) is encoded as separate documents split there.
            """)

    @Option(name: .long, help: "Model folder with tokenizer.json (or vocab.json + merges.txt) and tokenizer_config.json.")
    var model: String

    @Option(name: .long, help: "Encode this UTF-8 text file repeatedly and report throughput instead of reading stdin.")
    var benchmark: String?

    @Option(name: .long, help: "Seconds to spend encoding in --benchmark mode.")
    var benchmarkSeconds: Double = 5

    func run() throws {
        let loadStart = ContinuousClock.now
        let tokenizer: Tokenizer
        do {
            tokenizer = try Tokenizer.load(modelDirectory: URL(fileURLWithPath: model))
        } catch {
            throw TokenizeFailure(message: "\(error)")
        }
        let loadTime = ContinuousClock.now - loadStart
        if let benchmark {
            try runBenchmark(tokenizer, path: benchmark, loadTime: loadTime)
            return
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        var lineNumber = 0
        while let line = readLine(strippingNewline: true) {
            lineNumber += 1
            if line.allSatisfy(\.isWhitespace) { continue }
            let reply: Reply
            do {
                reply = try Self.handle(line, tokenizer: tokenizer)
            } catch {
                reply = Reply(error: "line \(lineNumber): \(error.message)")
            }
            var data = (try? encoder.encode(reply)) ?? Data(#"{"error":"unencodable reply"}"#.utf8)
            data.append(0x0A)
            FileHandle.standardOutput.write(data)
        }
    }

    /// One input line.
    struct Request: Decodable {
        var text: String?
        var ids: [Int]?
        var addSpecialTokens: Bool?
        var skipSpecialTokens: Bool?

        enum CodingKeys: String, CodingKey {
            case text, ids
            case addSpecialTokens = "add_special_tokens"
            case skipSpecialTokens = "skip_special_tokens"
        }
    }

    /// One output line: exactly one of the fields is set.
    struct Reply: Encodable, Equatable {
        var ids: [Int]?
        var text: String?
        var error: String?
    }

    /// Why the command as a whole failed (printed as "Error: ...", without the usage text).
    struct TokenizeFailure: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    /// Why one input line could not be answered.
    struct TokenizeLineError: Error {
        let message: String
    }

    static func handle(_ line: String, tokenizer: Tokenizer) throws(TokenizeLineError) -> Reply {
        let request: Request
        do {
            request = try JSONDecoder().decode(Request.self, from: Data(line.utf8))
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            let field = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined()
            throw TokenizeLineError(message: "\(field.isEmpty ? "request" : "\"\(field)\"") has the wrong type: \(context.debugDescription)")
        } catch {
            throw TokenizeLineError(message: "invalid JSON: expected an object with \"text\" or \"ids\"")
        }
        switch (request.text, request.ids) {
        case (let text?, nil):
            return Reply(ids: tokenizer.encode(text, addSpecialTokens: request.addSpecialTokens ?? true))
        case (nil, let ids?):
            if let index = ids.firstIndex(where: { $0 < 0 }) {
                throw TokenizeLineError(message: "\"ids\"[\(index)] is negative")
            }
            return Reply(text: tokenizer.decode(ids, skipSpecialTokens: request.skipSpecialTokens ?? true))
        case (.some, .some):
            throw TokenizeLineError(message: "give either \"text\" or \"ids\", not both")
        case (nil, nil):
            throw TokenizeLineError(message: "expected \"text\" or \"ids\"")
        }
    }

    private func runBenchmark(_ tokenizer: Tokenizer, path: String, loadTime: Duration) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TokenizeFailure(message: "cannot read \(path)")
        }
        let text = String(decoding: data, as: UTF8.self)
        let documents = text.split(separator: "\u{1E}", omittingEmptySubsequences: false).map(String.init)
        let megabytes = Double(documents.reduce(0) { $0 + $1.utf8.count }) / 1_000_000
        var runs = 0
        var tokens = 0
        let clock = ContinuousClock()
        let start = clock.now
        var best = Duration.seconds(1_000_000)
        repeat {
            let runStart = clock.now
            tokens = documents.reduce(0) { $0 + tokenizer.encode($1, addSpecialTokens: false).count }
            best = min(best, clock.now - runStart)
            runs += 1
        } while clock.now - start < .seconds(benchmarkSeconds)
        let total = clock.now - start
        func seconds(_ duration: Duration) -> Double {
            Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        }
        let mean = seconds(total) / Double(runs)
        print(
            String(
                format: "swift-vllm tokenizer: %.2f MB in %d documents, %d tokens, %d runs, mean %.3f s (%.2f MB/s), best %.3f s (%.2f MB/s), load %.3f s",
                megabytes, documents.count, tokens, runs, mean, megabytes / mean, seconds(best), megabytes / seconds(best), seconds(loadTime)))
    }
}
