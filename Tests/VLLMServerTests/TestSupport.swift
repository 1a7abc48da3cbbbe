import Foundation
import Hummingbird
import HummingbirdTesting
import VLLMEngine
import VLLMServer

/// A served fake model and its router, for tests that go through HTTP without a socket.
struct TestHarness {
    let engine: FakeEngine
    let serving: OpenAIServing

    /// - Parameter embedder: serve a pooling model (its generation routes answer 404).
    init(
        maxModelLen: Int = 64, stepDelay: Duration = .zero, chat: Bool = true, embedder: (any EmbeddingClient)? = nil,
        configure: (inout ServerConfig) -> Void = { _ in }
    ) {
        var config = ServerConfig()
        config.disableLogRequests = true
        configure(&config)
        engine = FakeEngine(maxModelLen: maxModelLen, stepDelay: stepDelay)
        let model = ServedModel(
            engine: engine, tokenizer: FakeTokenizer(), chatRenderer: chat ? FakeChatRenderer() : nil,
            names: ["fake-model", "alias"], root: "/models/fake", embedder: embedder)
        serving = OpenAIServing(model: model, config: config)
    }

    func test(_ setup: TestingSetup = .router, _ body: @Sendable (any TestClientProtocol) async throws -> Void)
        async throws
    {
        let app = Application(router: OpenAIRouter.make(serving: serving), server: HTTPServer.http1(serving.config))
        try await app.test(setup, body)
    }
}

/// What a test reads of a response.
struct Reply {
    var status: Int
    var text: String
    var headers: HTTPFields

    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    var error: [String: Any] { json["error"] as? [String: Any] ?? [:] }
    var errorMessage: String { error["message"] as? String ?? "" }

    /// The `data:` payloads of a server-sent event stream.
    var events: [String] {
        text.components(separatedBy: "\n\n").filter { !$0.isEmpty }.map { event in
            event.hasPrefix("data: ") ? String(event.dropFirst(6)) : "NOT-DATA: \(event)"
        }
    }

    var eventObjects: [[String: Any]] {
        events.dropLast().map { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] ?? [:] }
    }
}

extension TestClientProtocol {
    func post(_ uri: String, _ body: String, headers: HTTPFields = [:]) async throws -> Reply {
        var headers = headers
        headers[.contentType] = "application/json"
        return try await execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: body)) {
            Reply(status: Int($0.status.code), text: String(buffer: $0.body), headers: $0.headers)
        }
    }

    func get(_ uri: String, headers: HTTPFields = [:]) async throws -> Reply {
        try await execute(uri: uri, method: .get, headers: headers) {
            Reply(status: Int($0.status.code), text: String(buffer: $0.body), headers: $0.headers)
        }
    }
}

func choices(_ json: [String: Any]) -> [[String: Any]] { json["choices"] as? [[String: Any]] ?? [] }
func usage(_ json: [String: Any]) -> [String: Int] {
    (json["usage"] as? [String: Any] ?? [:]).compactMapValues { $0 as? Int }
}
