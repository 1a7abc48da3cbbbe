import ArgumentParser
import Foundation
import VLLMTemplates

/// `swift-vllm render-chat`: the prompt a chat request becomes, exactly as the server would render it.
struct RenderChatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render-chat",
        abstract: "Render a model's chat template for one conversation read from stdin.",
        discussion: """
            Reads one JSON object on stdin: {"messages": [...], "add_generation_prompt": true, "tools": [...], \
            "documents": [...], ...extra keys passed to the template (e.g. "enable_thinking")}, and writes the \
            rendered prompt to stdout byte for byte, with nothing added.
            """)

    @Option(help: "A HuggingFace model folder (chat_template.jinja or tokenizer_config.json).")
    var model: String

    @Option(help: "A chat template file (or the template text itself) to use instead of the model's.")
    var chatTemplate: String?

    func run() throws {
        let input = FileHandle.standardInput.readDataToEndOfFile()
        let request: TemplateValue
        do {
            request = try TemplateValue(json: input)
        } catch let error as TemplateError {
            throw ValidationError("stdin: \(error.message)")
        }
        guard case .dict(let pairs) = request else { throw ValidationError("stdin must hold one JSON object") }

        var messages: [TemplateValue]?
        var addGenerationPrompt = false
        var tools: [TemplateValue]?
        var documents: [TemplateValue]?
        var extra: [String: TemplateValue] = [:]
        for (key, value) in pairs {
            switch (key, value) {
            case ("messages", .array(let items)): messages = items
            case ("messages", _): throw ValidationError("\"messages\" must be a list")
            case ("add_generation_prompt", .bool(let flag)): addGenerationPrompt = flag
            case ("add_generation_prompt", _): throw ValidationError("\"add_generation_prompt\" must be true or false")
            case ("tools", .none), ("documents", .none): break
            case ("tools", .array(let items)): tools = items
            case ("documents", .array(let items)): documents = items
            case ("tools", _), ("documents", _): throw ValidationError("\"\(key)\" must be a list or null")
            default: extra[key] = value
            }
        }
        guard let messages else { throw ValidationError("stdin: the JSON object has no \"messages\" list") }

        let modelDirectory = URL(fileURLWithPath: model)
        let template: ChatTemplate
        if let chatTemplate, !FileManager.default.fileExists(atPath: chatTemplate) {
            // As in vLLM: a --chat-template that is not a file is the template itself.
            guard chatTemplate.contains("{{") || chatTemplate.contains("{%") else {
                throw ValidationError("--chat-template: no such file: \(chatTemplate)")
            }
            let config = try ChatTemplate.tokenizerConfig(modelDirectory: modelDirectory)
            template = try ChatTemplate(source: chatTemplate, specialTokens: config.map(ChatTemplate.specialTokens) ?? [:])
        } else {
            template = try ChatTemplate.load(
                modelDirectory: modelDirectory, override: chatTemplate.map { URL(fileURLWithPath: $0) })
        }
        let prompt = try template.render(
            messages: messages, addGenerationPrompt: addGenerationPrompt, tools: tools, documents: documents,
            extra: extra)
        FileHandle.standardOutput.write(Data(prompt.utf8))
    }
}
