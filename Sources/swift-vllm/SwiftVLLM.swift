import ArgumentParser

@main
struct SwiftVLLM: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swift-vllm",
        abstract: "A high-throughput LLM inference engine: the vLLM design as one native binary.",
        subcommands: [GenerateCommand.self, TokenizeCommand.self, RenderChatCommand.self, BenchCommand.self, CheckGPUCommand.self,
            ServeCommand.self, RunBatchCommand.self, DownloadCommand.self])
}
