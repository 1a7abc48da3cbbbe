import Foundation
import VLLMCompute
import VLLMCore
import VLLMEngine
import VLLMServer

/// A character tokenizer: id = Unicode scalar + 3; 1 is BOS, 2 is EOS. Every text round-trips,
/// so a test can predict any output from its prompt.
struct FakeTokenizer: TextTokenizer {
    static let bos = 1
    static let eos = 2

    func encode(_ text: String, addSpecialTokens: Bool) throws -> [Int] {
        (addSpecialTokens ? [Self.bos] : []) + text.unicodeScalars.map { Int($0.value) + 3 }
    }

    func decode(_ tokenIds: [Int], skipSpecialTokens: Bool) throws -> String {
        var text = ""
        for id in tokenIds {
            switch id {
            case Self.bos: if !skipSpecialTokens { text += "<s>" }
            case Self.eos: if !skipSpecialTokens { text += "</s>" }
            case 3...: text.unicodeScalars.append(Unicode.Scalar(UInt32(id - 3)) ?? "?")
            default: break
            }
        }
        return text
    }

    var vocabSize: Int { 0x11_0000 + 3 }
    /// A token is one Unicode scalar: at most 4 UTF-8 bytes.
    var longestTokenBytes: Int { 4 }
}

/// Renders `<|role|>content\n` per message, then `<|assistant|>` when asked for a generation prompt.
struct FakeChatRenderer: ChatRenderer {
    func render(messages: [JSONValue], addGenerationPrompt: Bool, tools: [JSONValue]?, extra: [String: JSONValue],
                requestBody: Data?) throws -> String
    {
        var text = ""
        for message in messages {
            let object = message.objectValue ?? [:]
            text += "<|\(object["role"]?.stringValue ?? "")|>\(object["content"]?.stringValue ?? "")\n"
        }
        return addGenerationPrompt ? text + "<|assistant|>" : text
    }
}

enum FakeEngineError: Error { case overloaded }

/// A deterministic engine: sequence `i` of a request echoes the prompt's tokens (BOS left out)
/// cyclically, starting `i` tokens in, one token per step. It honours `max_tokens`, `n`, stop
/// strings and stop token ids, EOS, logprobs and prompt logprobs (made-up values), streams deltas, supports abort,
/// and counts what is in flight.
final class FakeEngine: EngineClient, @unchecked Sendable {
    // @unchecked: every stored var is read and written only while holding `lock`.
    private let lock = NSLock()
    let maxModelLen: Int
    let stepDelay: Duration
    private var inFlight: Set<String> = []
    private var tasks: [String: Task<Void, Never>] = [:]
    private(set) var abortedIds: [String] = []
    private(set) var submitted: [(id: String, prompt: [Int], params: SamplingParams, lora: LoRARequest?)] = []
    private var loadedLoRAs: [LoRARequest] = []
    var refuseNewRequests = false

    init(maxModelLen: Int = 64, stepDelay: Duration = .zero) {
        self.maxModelLen = maxModelLen
        self.stepDelay = stepDelay
    }

    private func locked<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    var numInFlight: Int { locked { inFlight.count } }
    var aborted: [String] { locked { abortedIds } }
    var requests: [(id: String, prompt: [Int], params: SamplingParams, lora: LoRARequest?)] { locked { submitted } }
    /// Every adapter `addLoRA` accepted, in order.
    var addedLoRAs: [LoRARequest] { locked { loadedLoRAs } }
    func setRefusing(_ value: Bool) { locked { refuseNewRequests = value } }

    /// Accepts any folder, except one whose path contains "missing" (refused as the engine refuses a folder
    /// without adapter_config.json) or "broken" (refused as an adapter the engine cannot use).
    func addLoRA(_ lora: LoRARequest) throws {
        if lora.path.contains("missing") {
            throw VLLMValidationError("Loading lora \(lora.name) failed: No adapter found for \(lora.path)")
        }
        if lora.path.contains("broken") {
            throw VLLMValidationError("\(lora.path): LoRA rank 64 is greater than max_lora_rank 16.")
        }
        locked { loadedLoRAs.append(lora) }
    }

    func generate(requestId: String, promptTokenIds: [Int], params: SamplingParams, lora: LoRARequest?) throws
        -> AsyncThrowingStream<RequestOutput, Error>
    {
        try params.validate()
        if locked({ refuseNewRequests }) { throw FakeEngineError.overloaded }
        let (stream, continuation) = AsyncThrowingStream<RequestOutput, Error>.makeStream()
        locked {
            inFlight.insert(requestId)
            submitted.append((requestId, promptTokenIds, params, lora))
        }
        continuation.onTermination = { [weak self] termination in
            if case .cancelled = termination { self?.abort(requestId: requestId) }
        }
        let task = Task { [self] in
            await self.run(requestId: requestId, prompt: promptTokenIds, params: params, into: continuation)
            _ = self.locked { self.inFlight.remove(requestId) }
        }
        locked { tasks[requestId] = task }
        return stream
    }

    func abortAll() {
        for id in locked({ Array(inFlight) }) { abort(requestId: id) }
    }

    func abort(requestId: String) {
        let task: Task<Void, Never>? = locked {
            guard inFlight.remove(requestId) != nil else { return nil }
            abortedIds.append(requestId)
            return tasks.removeValue(forKey: requestId)
        }
        task?.cancel()
    }

    func stats() -> EngineStats {
        var stats = EngineStats()
        let running = numInFlight
        stats.numRunning = running
        stats.numTotalBlocks = 100
        stats.numFreeBlocks = 100 - running
        stats.kvCacheUsage = Double(running) / 100
        return stats
    }

    private struct Sequence {
        var tokenIds: [Int] = []
        var text = ""
        var logprobs: [TokenLogprobs] = []
        var finishReason: FinishReason?
        var stopReason: StopReason?
    }

    private func run(
        requestId: String, prompt: [Int], params: SamplingParams,
        into continuation: AsyncThrowingStream<RequestOutput, Error>.Continuation
    ) async {
        let content = prompt.filter { $0 != FakeTokenizer.bos }
        let source = content.isEmpty ? [FakeTokenizer.eos] : content
        let maxTokens = params.maxTokens ?? (maxModelLen - prompt.count)
        var sequences = Array(repeating: Sequence(), count: params.n)
        let metrics = RequestMetrics(arrivalTime: Date().timeIntervalSince1970)
        let tokenizer = FakeTokenizer()
        var step = 0
        while sequences.contains(where: { $0.finishReason == nil }) {
            if stepDelay > .zero { try? await Task.sleep(for: stepDelay) }
            if Task.isCancelled {
                continuation.finish()
                return
            }
            var outputs: [CompletionOutput] = []
            for index in sequences.indices where sequences[index].finishReason == nil {
                var sequence = sequences[index]
                let token = source[(step + index) % source.count]
                let before = sequence.text
                sequence.tokenIds.append(token)
                let logprob = TokenLogprobs(
                    sampledLogprob: -0.5 * Float(step % 3), sampledRank: 1,
                    top: (0..<max(0, params.logprobs ?? 0)).map { (Int32(token + $0), -0.5 * Float(step % 3 + $0)) })
                if params.logprobs != nil { sequence.logprobs.append(logprob) }
                if token == FakeTokenizer.eos && !params.ignoreEos {
                    sequence.finishReason = .stop
                } else if params.stopTokenIds.contains(token) {
                    sequence.finishReason = .stop
                    sequence.stopReason = .tokenId(token)
                } else {
                    sequence.text += (try? tokenizer.decode([token], skipSpecialTokens: true)) ?? ""
                    if let stop = params.stop.first(where: { sequence.text.contains($0) }),
                        let range = sequence.text.range(of: stop)
                    {
                        sequence.text = String(
                            sequence.text[..<(params.includeStopStrInOutput ? range.upperBound : range.lowerBound)])
                        sequence.finishReason = .stop
                        sequence.stopReason = .string(stop)
                    }
                }
                if sequence.finishReason == nil && sequence.tokenIds.count >= maxTokens {
                    sequence.finishReason = .length
                }
                sequences[index] = sequence
                outputs.append(
                    CompletionOutput(
                        index: index, text: sequence.text, tokenIds: sequence.tokenIds,
                        deltaText: String(sequence.text.dropFirst(before.count)), deltaTokenIds: [token],
                        logprobs: params.logprobs == nil ? nil : sequence.logprobs,
                        deltaLogprobs: params.logprobs == nil ? nil : [logprob],
                        finishReason: sequence.finishReason, stopReason: sequence.stopReason))
            }
            step += 1
            var output = RequestOutput(
                requestId: requestId, promptTokenIds: prompt, outputs: outputs,
                isFinished: !sequences.contains(where: { $0.finishReason == nil }), metrics: metrics)
            output.metrics.firstScheduledTime = metrics.arrivalTime
            if let numTop = params.promptLogprobs {
                // Made up: position i's token has logprob -i/4 and rank 1; the top ids follow it.
                output.promptLogprobs = [nil] + prompt.indices.dropFirst().map { i in
                    TokenLogprobs(sampledLogprob: -0.25 * Float(i), sampledRank: 1,
                                  top: (0..<numTop).map { (Int32(prompt[i] + $0), -0.25 * Float(i + $0)) })
                }
            }
            continuation.yield(output)
        }
        continuation.finish()
    }
}
