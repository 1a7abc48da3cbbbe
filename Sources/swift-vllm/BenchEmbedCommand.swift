import ArgumentParser
import Foundation
import VLLMEngine
import VLLMModels
import VLLMTokenizers

extension BenchCommand {
    /// `bench embed`: embeddings a second through an encoder, the sentences of a file (or synthetic ones of
    /// `--input-len` words) tokenized by the model's tokenizer, in the engine's token-budget batches —
    /// the workload `scripts/embedding_peer.py` runs through sentence-transformers.
    struct Embed: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Embedding throughput of an encoder model folder.")
        @Option(help: "Model folder or hub id (an encoder: BertModel, XLMRobertaModel).") var model: String
        @Option(help: "A text file, one sentence a line (default: synthetic sentences of --input-len words).")
        var sentences: String?
        @Option(name: .customLong("num-prompts")) var numPrompts = 1000
        @Option(name: .customLong("input-len"), help: "Words of each synthetic sentence.") var inputLen = 32
        @Option(name: .customLong("num-iters"), help: "Timed passes over the sentences (after one warm-up pass).")
        var numIters = 3
        @OptionGroup var engine: EngineOptions

        func run() throws {
            let directory = URL(fileURLWithPath: try engine.resolveModelBlocking(model) ?? model)
            let texts: [String]
            if let sentences {
                texts = try String(contentsOfFile: sentences, encoding: .utf8).split(separator: "\n").map(String.init)
            } else {
                texts = Self.synthetic(count: numPrompts, words: inputLen)
            }
            let tokenizer = try Tokenizer.load(modelDirectory: directory)
            let args = try engine.engineArgs(model: directory.path)
            let embedder = try EmbeddingEngine.load(directory: directory, backend: try engine.makeBackend(), format: args.loadFormat,
                                                    dtype: args.dtype, maxNumBatchedTokens: args.maxNumBatchedTokens ?? 16384,
                                                    maxModelLen: args.maxModelLen, poolerConfig: engine.poolerConfig, modelName: model)
            let sequences = texts.map { Array(tokenizer.encode($0, addSpecialTokens: true).prefix(embedder.maxModelLen)) }
            _ = try embedder.embedNow(sequences)  // warm-up: kernels, plans
            var seconds: [Double] = []
            for _ in 0..<numIters {
                let start = Date()
                _ = try embedder.embedNow(sequences)
                seconds.append(Date().timeIntervalSince(start))
            }
            let median = seconds.sorted()[numIters / 2]
            let tokens = sequences.reduce(0) { $0 + $1.count }
            BenchCommand.printJSON([
                "workload": "embed", "sentences": sequences.count, "tokens": tokens, "seconds_median": median,
                "embeddings_per_s": Double(sequences.count) / median, "tokens_per_s": Double(tokens) / median,
                "max_num_batched_tokens": embedder.maxNumBatchedTokens,
                "dimensions": embedder.poolingConfig.dimensions ?? embedder.dimensions,
            ])
        }

        /// `count` sentences of `words` words each, the same for `scripts/embedding_peer.py`.
        static func synthetic(count: Int, words: Int) -> [String] {
            let vocabulary = ["the", "model", "embeds", "every", "sentence", "into", "a", "vector", "of", "numbers",
                              "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "river", "bank", "money"]
            return (0..<count).map { i in
                (0..<words).map { vocabulary[(i * 7 + $0 * 13 + $0 * $0) % vocabulary.count] }.joined(separator: " ")
            }
        }
    }
}
