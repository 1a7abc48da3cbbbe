import Foundation
import Testing
import VLLMTemplates
@testable import VLLMServer

/// A chat request's objects reach the template in the client's key order, as transformers renders
/// them (golden: jinja2 with transformers' tojson, scripts/make_server_goldens.py).
@Suite struct ChatKeyOrderTests {
    struct Golden: Decodable { var request: String; var template: String; var rendered: String }

    @Test func toolsMessagesAndKwargsKeepTheRequestsKeyOrder() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Goldens/chat_key_order.json")
        let golden = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: url))
        let body = Data(golden.request.utf8)
        let request = try JSONCoding.decodeRequest(ChatCompletionRequest.self, from: body)
        let renderer = TemplateRenderer(template: try ChatTemplate(source: golden.template))
        let rendered = try renderer.render(messages: request.messages, addGenerationPrompt: true, tools: request.tools,
                                           extra: request.chatTemplateKwargs ?? [:], requestBody: body)
        #expect(rendered == golden.rendered)
    }
}
