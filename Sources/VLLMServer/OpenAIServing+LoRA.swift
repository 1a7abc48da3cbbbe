import Foundation
import VLLMCore
import VLLMEngine

/// `POST /v1/load_lora_adapter`'s body (vLLM's `LoadLoRAAdapterRequest`).
struct LoadLoRAAdapterRequest: Decodable, Sendable {
    var loraName: String
    var loraPath: String
    /// Re-read an adapter already loaded under this name instead of refusing it.
    var loadInplace: Bool
    /// Accepted for vLLM's MoE adapters; nothing here reads it.
    var is3DLoRAWeight: Bool

    enum CodingKeys: String, CodingKey {
        case loraName = "lora_name"
        case loraPath = "lora_path"
        case loadInplace = "load_inplace"
        case is3DLoRAWeight = "is_3d_lora_weight"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        loraName = try container.decode(String.self, forKey: .loraName)
        loraPath = try container.decode(String.self, forKey: .loraPath)
        loadInplace = try container.decodeIfPresent(Bool.self, forKey: .loadInplace) ?? false
        is3DLoRAWeight = try container.decodeIfPresent(Bool.self, forKey: .is3DLoRAWeight) ?? false
    }
}

/// `POST /v1/unload_lora_adapter`'s body (vLLM's `UnloadLoRAAdapterRequest`; `lora_int_id` is read and ignored,
/// as there).
struct UnloadLoRAAdapterRequest: Decodable, Sendable {
    var loraName: String
    var loraIntId: Int?

    enum CodingKeys: String, CodingKey {
        case loraName = "lora_name"
        case loraIntId = "lora_int_id"
    }
}

extension OpenAIServing {
    /// `POST /v1/load_lora_adapter` (only with `VLLM_ALLOW_RUNTIME_LORA_UPDATING`): reads the adapter into the engine
    /// and registers its name; the answer is plain text.
    /// The folder is read on a thread of its own, not on the concurrency pool (whose few threads serve every other
    /// request meanwhile).
    public func loadLoRAAdapter(body: Data) async -> ServingResponse {
        let request: LoadLoRAAdapterRequest
        do {
            request = try JSONCoding.decodeRequest(LoadLoRAAdapterRequest.self, from: body)
        } catch {
            return await serve { () throws(OpenAIError) -> ServingResponse in throw error }
        }
        let folder = await adapterFolder(request.loraPath)
        let loaded: Result<String, OpenAIError> = await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(returning: Result { () throws(OpenAIError) -> String in
                    try self.loadLoRA(name: request.loraName, path: request.loraPath, folder: folder,
                                      loadInplace: request.loadInplace, baseModelName: nil)
                })
            }
        }
        return await serve { () throws(OpenAIError) -> ServingResponse in Self.plainText(try loaded.get()) }
    }

    /// The folder of an adapter's path (`ServerConfig.fetchAdapter`: a hub id's snapshot). A download that fails
    /// leaves the path as given, as vLLM does, so the load then fails with "No adapter found"; the reason is logged.
    func adapterFolder(_ path: String) async -> String {
        guard !path.isEmpty, let fetch = config.fetchAdapter else { return path }
        do {
            return try await fetch(path)
        } catch {
            logger.warning("LoRA adapter '\(path)': \(error)")
            return path
        }
    }

    /// `POST /v1/unload_lora_adapter` (only with `VLLM_ALLOW_RUNTIME_LORA_UPDATING`): forgets the name. As in vLLM,
    /// the engine keeps the weights until its LRU caches need the room; loading the name again gets a new id.
    public func unloadLoRAAdapter(body: Data) async -> ServingResponse {
        await serve { () throws(OpenAIError) -> ServingResponse in
            let request = try JSONCoding.decodeRequest(UnloadLoRAAdapterRequest.self, from: body)
            return Self.plainText(try unloadLoRA(name: request.loraName))
        }
    }

    /// vLLM's `OpenAIServingModels.unload_lora_adapter`; returns the success message.
    func unloadLoRA(name: String) throws(OpenAIError) -> String {
        loras.updates.lock()
        defer { loras.updates.unlock() }
        guard !name.isEmpty else {
            throw .invalidUserInput("'lora_name' needs to be provided to unload a LoRA adapter.")
        }
        guard loras.remove(name) else {
            throw OpenAIError(status: 404, message: "The lora adapter '\(name)' cannot be found.", type: "NotFoundError")
        }
        logger.info("Removed LoRA adapter: name '\(name)'")
        return "Success: LoRA adapter '\(name)' removed successfully."
    }

    /// Registers `--lora-modules` in order (vLLM's `init_static_loras`); the first that cannot be loaded stops
    /// start-up, its error's message the reason.
    public func loadStaticLoRAs() async throws(OpenAIError) {
        for module in config.loraModules {
            _ = try loadLoRA(name: module.name, path: module.path, folder: await adapterFolder(module.path), loadInplace: false,
                             baseModelName: module.baseModelName)
        }
    }

    /// vLLM's `OpenAIServingModels.load_lora_adapter`: checks the request, has the engine read the adapter (so a bad
    /// folder is refused here, not when a request first names it) and registers it; returns the success message.
    ///
    /// vLLM passes every error message through `sanitize_message`, which puts `<path>` where a file path was. We
    /// keep the path (a departure): the folder is the user's own, named by them to their own server, and the
    /// message is only useful with it.
    /// `path` is the adapter as the user gave it (`/v1/models`' root, messages); `folder` where it is on disk (a hub
    /// id's snapshot; nil: `path`).
    func loadLoRA(name: String, path: String, folder: String? = nil, loadInplace: Bool, baseModelName: String?) throws(OpenAIError)
        -> String {
        loras.updates.lock()
        defer { loras.updates.unlock() }
        guard !name.isEmpty, !path.isEmpty else {
            throw .invalidUserInput("Both 'lora_name' and 'lora_path' must be provided.")
        }
        if !loadInplace, loras.lookup(name) != nil {
            throw .invalidUserInput(
                "The lora adapter '\(name)' has already been loaded. If you want to load the adapter in place, set "
                    + "'load_inplace' to True.")
        }
        // A fresh id even in place, where vLLM keeps the old one and has its worker re-read the folder: the engine
        // here caches adapters by id, so a new id is what makes it read the folder again (the old copy leaves its
        // LRU caches in time). Ids are not visible through the API.
        let lora = LoRARequest(name: name, id: loras.nextId(), path: ((folder ?? path) as NSString).expandingTildeInPath)
        guard config.maxLoras != nil else {
            throw .internalError("Call to add_lora method failed: LoRA is not enabled. Use --enable-lora to enable LoRA.")
        }
        do {
            try engine.addLoRA(lora)
        } catch {
            let message = String(describing: error)
            let notFound = "Loading lora \(name) failed: No adapter found for"
            if message.contains(notFound) {
                // vLLM's LoRAAdapterNotFoundError, rebuilt from the request: the path as the user gave it.
                throw OpenAIError(status: 404, message: "\(notFound) \(path)", type: "NotFoundError")
            }
            throw .internalError("Call to add_lora method failed: \(message)")
        }
        let base = baseModelName.flatMap { model.names.contains($0) ? $0 : nil }
        loras.register(LoRARegistry.Entry(lora: lora, root: path, baseModelName: base))
        logger.info("Loaded new LoRA adapter: name '\(name)', path '\(path)'")
        return "Success: LoRA adapter '\(name)' added successfully."
    }

    /// A bare 200 text answer, as Starlette's `Response(content=…)` sends it: no Content-Type.
    static func plainText(_ text: String) -> ServingResponse {
        .text(status: 200, body: text, contentType: "")
    }
}
