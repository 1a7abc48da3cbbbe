import Foundation
import Testing

@testable import VLLMTemplates

/// Reading templates and special tokens from model folders, and JSON that keeps key order.
@Suite struct LoadTests {
    func modelFolder(_ files: [String: String]) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("vllm-templates-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        for (name, text) in files { try Data(text.utf8).write(to: url.appendingPathComponent(name)) }
        return url
    }

    @Test func tokenizerConfigTemplateAndSpecialTokens() throws {
        let folder = try modelFolder([
            "tokenizer_config.json": """
            {"bos_token": {"content": "<B>", "lstrip": false}, "eos_token": "<E>", "pad_token": null,
             "chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "{{ bos_token }}|{{ eos_token }}|{{ pad_token is defined }}|{{ messages[0].content }}"}]}
            """
        ])
        defer { try? FileManager.default.removeItem(at: folder) }
        let template = try ChatTemplate.load(modelDirectory: folder)
        let text = try template.render(messages: [.dict([("role", .string("user")), ("content", .string("hi"))])], addGenerationPrompt: false)
        #expect(text == "<B>|<E>|False|hi")
    }

    @Test func chatTemplateJinjaWinsOverConfig() throws {
        let folder = try modelFolder([
            "tokenizer_config.json": #"{"eos_token": "</s>", "chat_template": "config"}"#,
            "chat_template.jinja": "file {{ eos_token }}\n",
        ])
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(try ChatTemplate.load(modelDirectory: folder).render(messages: [], addGenerationPrompt: true) == "file </s>")
    }

    @Test func missingTemplateIsAClearError() throws {
        let folder = try modelFolder(["tokenizer_config.json": #"{"eos_token": "</s>"}"#])
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(throws: TemplateError.self) { try ChatTemplate.load(modelDirectory: folder) }
    }

    @Test func jsonKeepsKeyOrderForTojson() throws {
        let value = try TemplateValue(json: #"{"z": 1, "a": {"y": [1.0, 2e3, -0, "\u00e9\ud83d\ude00"], "b": null}}"#)
        let template = try ChatTemplate(source: "{{ v | tojson }}")
        let text = try template.render(context: ["v": value])
        // json.dumps of the same document (floats stay floats, key order kept, ensure_ascii off).
        #expect(text == #"{"z": 1, "a": {"y": [1.0, 2000.0, 0, "é😀"], "b": null}}"#)
    }

    @Test func malformedJSONNamesWhere() {
        #expect(throws: TemplateError.load("invalid JSON at line 2, column 5: expected ':'")) {
            try TemplateValue(json: "{\n\"a\" 1}")
        }
    }
}
