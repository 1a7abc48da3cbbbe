import ArgumentParser
import Foundation
import VLLMHub
import VLLMServer

/// `--lora-modules`, the frontend flag `serve` and `run-batch` share (vLLM's, in `BaseFrontendArgs`): adapters
/// registered at start-up, each `name=path` or JSON `{"name", "path", "base_model_name"}`.
struct LoRAModulesOption: ParsableArguments {
    @Option(
        name: .customLong("lora-modules"), parsing: .upToNextOption,
        help: "LoRA adapters served from start-up, which a request's model field names (needs --enable-lora): name=path, or JSON {\"name\": ..., \"path\": ..., \"base_model_name\": ...}.")
    var loraModules: [String] = []

    /// The adapters, read as vLLM reads them.
    func modules() throws -> [LoRAModulePath] {
        do {
            return try LoRAModulePath.parse(arguments: loraModules)
        } catch {
            throw ValidationError(error.message)
        }
    }

    func validate() throws { _ = try modules() }

    /// vLLM finds out only when the first adapter fails to load; it is known here before anything loads.
    func check(enableLoRA: Bool) throws {
        if !enableLoRA, !(try modules()).isEmpty {
            throw ValidationError("LoRA is not enabled. Use --enable-lora to enable LoRA.")
        }
    }

    /// The server's LoRA settings from these adapters and the engine's flags; the runtime routes follow
    /// VLLM_ALLOW_RUNTIME_LORA_UPDATING.
    func apply(to config: inout ServerConfig, engine: EngineOptions,
               environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        config.loraModules = try modules()
        config.maxLoras = engine.enableLoRA ? engine.maxLoras : nil
        config.allowRuntimeLoRAUpdating = ServerConfig.allowsRuntimeLoRAUpdating(environment["VLLM_ALLOW_RUNTIME_LORA_UPDATING"])
        // As vLLM: an adapter path that is not a folder but a hub id is downloaded (HF_ENDPOINT, HF_HOME, …,
        // --download-dir, VLLM_USE_MODELSCOPE as for the model).
        let downloadDir = engine.downloadDir
        config.fetchAdapter = { path in
            var isFolder: ObjCBool = false
            let expanded = (path as NSString).expandingTildeInPath
            if FileManager.default.fileExists(atPath: expanded, isDirectory: &isFolder) || !HubRepositoryID.isHubID(path) {
                return path
            }
            return try await EngineOptions.download(path, revision: nil, downloadDir: downloadDir).path
        }
    }
}

/// Start-up that cannot go on (printed as "Error: ...", without the usage text).
struct StartupFailure: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

extension OpenAIServing {
    /// `loadStaticLoRAs` for the CLI: the first adapter that cannot be loaded stops start-up with its message.
    func loadStaticLoRAsOrFail() async throws {
        do {
            try await loadStaticLoRAs()
        } catch {
            throw StartupFailure(message: error.message)
        }
    }
}
