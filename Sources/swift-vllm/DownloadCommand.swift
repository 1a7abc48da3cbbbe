import ArgumentParser
import Foundation
import VLLMHub

/// `swift-vllm download ORG/NAME`: fetches what serving the model needs into the HF cache (huggingface_hub's layout,
/// so `huggingface_hub`, transformers and vLLM find it too) and prints the snapshot folder, serving nothing.
struct DownloadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "download",
        abstract: "Download a model from the Hugging Face hub into the HF cache; print its folder.",
        discussion: "Honours HF_ENDPOINT, HF_TOKEN, HF_HOME / HF_HUB_CACHE and HF_HUB_OFFLINE as huggingface_hub does; with VLLM_USE_MODELSCOPE=true, ModelScope (MODELSCOPE_ENDPOINT, MODELSCOPE_CACHE) as the modelscope client does.")

    @Argument(help: "The model's hub id (org/name).")
    var model: String
    @Option(help: "Branch, tag or commit (default: main; master on ModelScope).")
    var revision: String?
    @Option(name: .customLong("download-dir"), help: "The cache folder (default: $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub).")
    var downloadDir: String?

    func validate() throws {
        guard HubRepositoryID.isHubID(model) else { throw ValidationError("'\(model)' is not a hub id (org/name)") }
    }

    func run() async throws {
        let folder = try await EngineOptions.download(model, revision: revision, downloadDir: downloadDir)
        print(folder.path)
    }
}
