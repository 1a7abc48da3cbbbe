import Foundation
import VLLMCore
import VLLMGrammar

/// One `--lora-modules` item (vLLM's `LoRAModulePath`): an adapter's name, its folder, and the served model it
/// belongs to (`/v1/models`' `parent`, used only when it is one of the served names).
public struct LoRAModulePath: Sendable, Equatable {
    public var name: String
    public var path: String
    public var baseModelName: String?

    public init(name: String, path: String, baseModelName: String? = nil) {
        self.name = name
        self.path = path
        self.baseModelName = baseModelName
    }

    /// Reads the items of `--lora-modules` as vLLM's `LoRAParserAction` does: `""` and `"None"` are skipped; an
    /// item with `=` and no `,` is `name=path`; anything else is JSON `{"name", "path", "base_model_name"?}`.
    /// Throws a message in vLLM's words ("Invalid JSON format for --lora-modules: …", "Invalid fields for
    /// --lora-modules: … - …"); where vLLM raises Python's own TypeError, the TypeError's text follows the dash.
    public static func parse(arguments: [String]) throws(LoRAModulesError) -> [LoRAModulePath] {
        var modules: [LoRAModulePath] = []
        for item in arguments where !item.isEmpty && item != "None" {
            if item.contains("=") && !item.contains(",") {
                let parts = item.split(separator: "=", omittingEmptySubsequences: false)
                // vLLM's `name, path = item.split("=")` dies with a traceback here; this says what Python says.
                guard parts.count == 2 else {
                    throw LoRAModulesError("Invalid --lora-modules item \(item): too many values to unpack (expected 2)")
                }
                modules.append(LoRAModulePath(name: String(parts[0]), path: String(parts[1])))
                continue
            }
            let value: SchemaValue
            do {
                value = try SchemaValue.parse(item)
            } catch {
                throw LoRAModulesError("Invalid JSON format for --lora-modules: \(item)")
            }
            do {
                modules.append(try fromJSON(value))
            } catch {
                throw LoRAModulesError("Invalid fields for --lora-modules: \(item) - \(error.message)")
            }
        }
        return modules
    }

    /// `LoRAModulePath(**json.loads(item))`, refusing what that call refuses with Python's TypeError text (its
    /// fields' types are checked too, which Python leaves to whatever reads them later).
    private static func fromJSON(_ value: SchemaValue) throws(LoRAModulesError) -> LoRAModulePath {
        let typeName: String
        switch value {
        case .object(let members):
            // A repeated key's last value wins, as in json.loads; the first unknown key is the one Python names.
            var fields: [String: SchemaValue] = [:]
            for (key, value) in members {
                guard ["name", "path", "base_model_name", "is_3d_lora_weight"].contains(key) else {
                    throw LoRAModulesError("LoRAModulePath.__init__() got an unexpected keyword argument '\(key)'")
                }
                fields[key] = value
            }
            let missing = ["name", "path"].filter { fields[$0] == nil }
            if missing.count == 2 {
                throw LoRAModulesError("LoRAModulePath.__init__() missing 2 required positional arguments: 'name' and 'path'")
            }
            if let one = missing.first {
                throw LoRAModulesError("LoRAModulePath.__init__() missing 1 required positional argument: '\(one)'")
            }
            func string(_ key: String) throws(LoRAModulesError) -> String? {
                switch fields[key] {
                case .none, .some(.null): return nil
                case .some(.string(let text)): return text
                default: throw LoRAModulesError("'\(key)' must be a string")
                }
            }
            switch fields["is_3d_lora_weight"] {
            case .none, .some(.bool): break
            default: throw LoRAModulesError("'is_3d_lora_weight' must be a boolean")
            }
            guard let name = try string("name"), let path = try string("path") else {
                throw LoRAModulesError("'name' and 'path' must be strings")
            }
            return LoRAModulePath(name: name, path: path, baseModelName: try string("base_model_name"))
        case .array: typeName = "list"
        case .null: typeName = "NoneType"
        case .bool: typeName = "bool"
        case .string: typeName = "str"
        case .number(let text): typeName = text.contains(where: { ".eE".contains($0) }) ? "float" : "int"
        }
        throw LoRAModulesError("vllm.entrypoints.openai.models.protocol.LoRAModulePath() argument after ** must be a mapping, not \(typeName)")
    }
}

/// A `--lora-modules` item that cannot be read; `message` is what the command line reports.
public struct LoRAModulesError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The adapters the server answers to by name (vLLM's `OpenAIServingModels.lora_requests`), in the order they were
/// first loaded: `--lora-modules` at start-up, then `/v1/load_lora_adapter`. A request whose `model` names one
/// runs with its `LoRARequest`. Ids count up from 1 and are never reused (a load that fails spends one too, as in
/// vLLM). Thread-safe.
public final class LoRARegistry: @unchecked Sendable {
    // @unchecked: `entries` and `lastId` are guarded by `lock`; `updates` serializes loads and unloads.
    private let lock = NSLock()
    /// Held for a whole load or unload (check, read the adapter, register), as vLLM holds its per-name lock, so two
    /// loads of one name cannot both pass the "already loaded" check. Never held across a suspension.
    let updates = NSLock()

    /// One adapter: the request the engine gets, its folder as the user gave it (`/v1/models`' `root`, and the
    /// path error messages name), and the served model it was registered for.
    public struct Entry: Sendable, Equatable {
        public var lora: LoRARequest
        public var root: String
        public var baseModelName: String?
    }

    private var entries: [Entry] = []
    private var lastId = 0

    public init() {}

    /// Every adapter, in the order first loaded.
    public var all: [Entry] { lock.withLock { entries } }

    /// The adapter called `name`, if one is loaded.
    public func lookup(_ name: String) -> Entry? {
        lock.withLock { entries.first { $0.lora.name == name } }
    }

    /// A fresh id (vLLM's `lora_id_counter.inc(1)`).
    func nextId() -> Int {
        lock.withLock {
            lastId += 1
            return lastId
        }
    }

    /// Registers `entry`; an adapter of the same name is replaced where it stands (a dict assignment in vLLM).
    func register(_ entry: Entry) {
        lock.withLock {
            if let index = entries.firstIndex(where: { $0.lora.name == entry.lora.name }) {
                entries[index] = entry
            } else {
                entries.append(entry)
            }
        }
    }

    /// Forgets the adapter called `name`; false if there is none.
    func remove(_ name: String) -> Bool {
        lock.withLock {
            guard let index = entries.firstIndex(where: { $0.lora.name == name }) else { return false }
            entries.remove(at: index)
            return true
        }
    }
}
