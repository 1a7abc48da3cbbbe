/// A request's adapter (vLLM's `LoRARequest`): its name (what a request's `model` field names, and what keys the
/// prefix cache), a positive id the engine caches it by, and its folder.
public struct LoRARequest: Sendable, Hashable {
    public var name: String
    public var id: Int
    public var path: String

    public init(name: String, id: Int, path: String) {
        precondition(id > 0, "LoRARequest: id must be > 0, got \(id)")
        self.name = name
        self.id = id
        self.path = path
    }
}
