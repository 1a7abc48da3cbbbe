import Foundation
import Testing

@testable import VLLMTemplates

/// Every chat template under ../shared/chat-templates, over the conversations of
/// scripts/make_template_goldens.py, against Python jinja2's renders in Goldens/templates.json.
@Suite struct RealTemplateTests {
    @Test func everyTemplateMatchesJinja2() throws {
        guard let shared = Golden.sharedTemplates() else { return }
        let golden = try Golden.load("templates.json")
        guard case .array(let conversations)? = golden["conversations"],
            case .dict(let templates)? = golden["templates"]
        else { throw TemplateError.load("templates.json has no conversations/templates") }
        var failures: [String] = []
        var passed = 0
        for (path, entry) in templates {
            let url = shared.appendingPathComponent(path)
            var source = try String(contentsOf: url, encoding: .utf8)
            if path.hasSuffix(".json") {
                let config = try TemplateValue(json: Data(source.utf8))
                source = try ChatTemplate.pickTemplate(config["chat_template"] ?? .none, from: url)
            }
            guard case .dict(let tokens)? = entry["special_tokens"], case .dict(let renders)? = entry["renders"] else {
                continue
            }
            for conversation in conversations {
                guard case .string(let name)? = conversation["name"], let expected = renders.first(where: { $0.key == name })?.value
                else { continue }
                var context: [String: TemplateValue] = [:]
                for (key, value) in tokens { context[key] = value }
                if case .dict(let extra)? = conversation["extra"] { for (k, v) in extra { context[k] = v } }
                context["messages"] = conversation["messages"] ?? .array([])
                context["tools"] = conversation["tools"] ?? TemplateValue.none
                context["documents"] = TemplateValue.none
                context["add_generation_prompt"] = conversation["add_generation_prompt"] ?? .bool(false)
                if let failure = Golden.check(source, context: context, expected: expected) {
                    failures.append("\(path) [\(name)]: \(failure)")
                } else {
                    passed += 1
                }
            }
        }
        print("real templates: \(passed) of \(passed + failures.count) renders match jinja2")
        for failure in failures.prefix(15) { print("FAIL " + failure + "\n") }
        #expect(failures.isEmpty, "\(failures.count) renders differ from jinja2")
    }
}
